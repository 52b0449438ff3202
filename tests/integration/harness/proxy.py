"""PROXY protocol for the cases: header builders, a relay listener that
takes them, an smtplib client behind a header, and a private HAProxy.

PROXY_SOURCE is the loopback address the "load balancer" connects from;
it is the relay's only trusted proxy, so a device connecting directly
from its own address is not trusted.
"""

import copy
import ipaddress
import os
import signal
import smtplib
import struct
import subprocess
import time

from .clients import TIMEOUT, RawClient
from .util import FixtureError, free_port

PROXY_SOURCE = "127.0.0.9"
PROXY_LISTENER = "smtp-lb"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1_header(src, dst="127.0.0.1", sport=40000, dport=25):
    """A v1 line for TCP4 or TCP6 (from the source's family)."""
    family = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n"
            % (family, src, dst, sport, dport)).encode()


def v2_header(src, dst=None, sport=40000, dport=25, tlvs=b"",
              family=None):
    """A v2 PROXY block for TCP over IPv4 or IPv6; family overrides the
    family and transport byte."""
    ip = ipaddress.ip_address(src)
    if dst is None:
        dst = "::1" if ip.version == 6 else "127.0.0.1"
    fam = family if family is not None else (0x21 if ip.version == 6
                                              else 0x11)
    body = (ip.packed + ipaddress.ip_address(dst).packed +
            struct.pack("!HH", sport, dport) + tlvs)
    return V2_SIGNATURE + bytes([0x21, fam]) + struct.pack("!H",
                                                          len(body)) + body


def v2_local():
    """A v2 LOCAL block: the balancer's own health check."""
    return V2_SIGNATURE + b"\x20\x00\x00\x00"


def add_proxy_listener(settings, name=PROXY_LISTENER, protocol="smtp",
                       trusted=(PROXY_SOURCE,)):
    """Add a plain proxy_protocol listener on a free port and the trusted
    proxies to main settings; returns the port."""
    port = free_port()
    settings["listeners"].append({"name": name, "protocol": protocol,
                                  "address": "127.0.0.1", "port": port,
                                  "proxy_protocol": True})
    settings["trusted_proxies"] = list(trusted)
    return port


def listener_port(relay, name=PROXY_LISTENER):
    """The port of a relay's listener (one the case's settings added)."""
    for l in relay.settings["listeners"]:
        if l["name"] == name:
            return l["port"]
    raise FixtureError("no listener %s" % name)


def connect(port, source=PROXY_SOURCE, header=b""):
    """A RawClient from source to the relay with header already sent."""
    c = RawClient(port, source=source)
    if header:
        c.send(header)
    return c


def closed_silently(c, timeout=10):
    """Wait until the relay closes; (closed, bytes it sent before)."""
    try:
        return c.wait_closed(timeout)
    finally:
        c.close()


class ProxiedSMTP(smtplib.SMTP):
    """smtplib whose connection starts with a PROXY header."""

    def __init__(self, header, source=PROXY_SOURCE, **kw):
        self.proxy_header = header
        self.proxy_source = source
        super().__init__(**kw)

    def _get_socket(self, host, port, timeout):
        return connect(port, self.proxy_source, self.proxy_header).sock


def proxied_smtp(ctx, header, port=None, source=PROXY_SOURCE):
    """(smtp, (code, greeting)) through a PROXY header; closed with the
    case."""
    s = ProxiedSMTP(header, source=source, timeout=TIMEOUT)
    s._host = "127.0.0.1"
    try:
        code, msg = s.connect("127.0.0.1", port or listener_port(ctx.relay))
    except smtplib.SMTPConnectError as e:
        code, msg = e.smtp_code, e.smtp_error
    ctx._open.append(s)
    return s, (code, msg)


HAPROXY_CONFIG = """\
global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend smtp
    bind 127.0.0.1:{port}
    default_backend relays
backend relays
    balance roundrobin
{servers}
"""
HAPROXY_SERVER = ("    server {name} 127.0.0.1:{port} source {source} "
                  "send-proxy-v2 check check-send-proxy inter 300ms "
                  "fall 1 rise 2")


class HAProxy:
    """A private HAProxy (mode tcp) in front of relay ports, connecting to
    them from PROXY_SOURCE with send-proxy-v2 and check-send-proxy."""

    def __init__(self, dir, backends):
        self.dir = dir
        self.backends = backends	# [(name, port)]
        self.port = free_port()
        self.conf = os.path.join(dir, "haproxy.cfg")
        self.proc = None

    def config_text(self):
        servers = "\n".join(HAPROXY_SERVER.format(name=n, port=p,
                                                  source=PROXY_SOURCE)
                            for n, p in self.backends)
        return HAPROXY_CONFIG.format(port=self.port, servers=servers)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        check = subprocess.run(["haproxy", "-c", "-q", "-f", self.conf],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise FixtureError("haproxy -c: %s" % check.stderr.strip())
        self.log = open(os.path.join(self.dir, "haproxy.log"), "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.conf],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.listening():
                return self
            time.sleep(0.1)
        raise FixtureError("haproxy did not listen on port %d" % self.port)

    def listening(self):
        """Is the frontend's port bound? (Asked of ss, not by connecting,
        which would reach a relay as a client.)"""
        out = subprocess.run(["ss", "-Hltn", "sport = :%d" % self.port],
                             capture_output=True, text=True).stdout
        return out.strip() != ""

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.log.close()


def second_relay(ctx, name="relay2"):
    """Start another tlsrelayd with the case relay's settings and devices
    on fresh ports; it is stopped at the end of the run at the latest."""
    from .relay import Relay
    settings = copy.deepcopy(ctx.relay.settings)
    for part in settings["listeners"] + [settings.get("metrics", {})]:
        part["port"] = free_port()
    relay = Relay(ctx.relay.binary, os.path.join(ctx.relay.dir, name),
                  settings, ctx.relay.devices)
    return relay.start()
