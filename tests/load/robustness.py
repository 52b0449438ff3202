#!/usr/bin/python3
"""Load test for issue 15 points 1 and 3 (not run by make check).

1. Unknown clients stalling their TLS handshakes on an implicit-TLS
   listener (default 1,000, against the default max_sessions 1000) while
   a registered device keeps opening sessions: how many of its sessions
   are served, how fast, and how many of the unknown connections the
   relay closed.
2. A relay started with a low descriptor limit (ulimit -n, default 64):
   registered-device connections beyond it get "421 ... out of resources"
   at once instead of hanging, and once the held sessions end the next
   connection is served at once.

Run as root from the worktree (uses 127.0.0.1 and 127.0.0.2):

    tests/load/robustness.py [--binary build/tlsrelayd] [--unknown 1000]
        [--served 200] [--fd-limit 64] [--keep]

It prints the figures; the exit status is 1 if a registered device was
refused or left without an answer in either part.
"""

import argparse
import os
import resource
import shutil
import socket
import ssl
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness.pki import PKI  # noqa: E402
from harness.relay import Relay, base_settings, device  # noqa: E402
from harness.stalled import count_closed, stall  # noqa: E402
from harness.util import free_port  # noqa: E402

DEVICE = "127.0.0.1"
UNKNOWN = "127.0.0.2"


def start_relay(binary, dir, pki, fd_limit=None):
    """A relay with a plain and an implicit-TLS SMTP listener, one device
    at 127.0.0.1, an upstream that is never contacted (pre-login only)."""
    listeners = [{"name": name, "protocol": "smtp", "address": DEVICE,
                  "port": free_port(), "tls": tls}
                 for name, tls in (("smtp", "plain"),
                                   ("smtps", "implicit"))]
    settings = base_settings(pki, listeners, {"smtp": {
        "host": "localhost", "port": free_port(), "tls": "implicit",
        "ca_file": pki.ca}})
    settings["limits"]["max_sessions_per_device"] = 10000
    relay = Relay(binary, dir, settings, [device("scanner-1", DEVICE)])
    relay.start()
    if fd_limit:
        resource.prlimit(relay.proc.pid, resource.RLIMIT_NOFILE,
                         (fd_limit, fd_limit))
    return relay, {l["name"]: l["port"] for l in listeners}


def first_line(sock, timeout):
    """The first line the relay sends, or None (closed or silent)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\n" not in data:
            chunk = sock.recv(512)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data.split(b"\r\n")[0].decode(errors="replace") or None


def device_session(port, tls, timeout=5):
    """One registered-device session: connect (TLS if asked), greeting,
    QUIT. Returns (reply code or None, seconds)."""
    started = time.monotonic()
    try:
        sock = socket.create_connection((DEVICE, port), timeout=timeout,
                                        source_address=(DEVICE, 0))
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        line = first_line(sock, timeout)
        sock.sendall(b"QUIT\r\n")
        sock.close()
    except OSError:
        line = None
    code = int(line[:3]) if line and line[:3].isdigit() else None
    return code, time.monotonic() - started


def unknown_flood(args, pki, dir):
    """Part 1: stalled unknown handshakes, a registered device served."""
    relay, ports = start_relay(args.binary, os.path.join(dir, "flood"), pki)
    stalled = stall(ports["smtps"], args.unknown, UNKNOWN, host=DEVICE)
    results = [device_session(ports["smtps"], True)
               for _ in range(args.served)]
    closed = count_closed(stalled, 0.2)
    refused = sum("event=refused" in l and "client=%s" % UNKNOWN in l
                  for l in relay.lines())
    relay.stop()
    served = [t for code, t in results if code == 220]
    print("part 1: %d unknown clients stalled on SMTPS; %d closed by the "
          "relay at once, %d refused lines logged"
          % (len(stalled), closed, refused))
    print("        registered device: %d of %d sessions served (220), "
          "others %s" % (len(served), len(results),
                         sorted({c for c, _ in results if c != 220})))
    if served:
        print("        greeting latency: median %.1f ms, max %.1f ms"
              % (1000 * statistics.median(served), 1000 * max(served)))
    return len(served) == len(results)


def hold(port, n):
    """Open n plain connections as the device; sort them by first line."""
    held, greeted, busy, silent = [], 0, 0, 0
    for _ in range(n):
        s = socket.create_connection((DEVICE, port), timeout=5,
                                     source_address=(DEVICE, 0))
        line = first_line(s, 2)
        if line and line.startswith("220"):
            greeted += 1
            held.append(s)
        elif line and "out of resources" in line:
            busy += 1
            s.close()
        else:
            silent += 1
            held.append(s)
    return held, greeted, busy, silent


def fd_exhaustion(args, pki, dir):
    """Part 2: a descriptor-limited relay answers busy and recovers."""
    relay, ports = start_relay(args.binary, os.path.join(dir, "fds"), pki,
                               fd_limit=args.fd_limit)
    started = time.monotonic()
    held, greeted, busy, silent = hold(ports["smtp"], 2 * args.fd_limit)
    took = time.monotonic() - started
    for s in held:
        s.close()
    code, recovery = None, 0.0
    deadline = time.monotonic() + 10
    while code != 220 and time.monotonic() < deadline:
        code, recovery = device_session(ports["smtp"], False, timeout=2)
    shed = [l for l in relay.lines() if "answered busy" in l]
    relay.stop()
    print("part 2: ulimit -n %d, %d connections in %.1f s: %d greeted, %d "
          "answered busy (421 out of resources), %d without an answer"
          % (args.fd_limit, 2 * args.fd_limit, took, greeted, busy, silent))
    print("        after the held sessions closed: next session %s in "
          "%.1f ms; %d 'answered busy' log lines"
          % ("served" if code == 220 else "NOT served (%s)" % code,
             1000 * recovery, len(shed)))
    return silent == 0 and code == 220


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(HERE, "..", "..",
                                                    "build", "tlsrelayd"))
    p.add_argument("--unknown", type=int, default=1000)
    p.add_argument("--served", type=int, default=200)
    p.add_argument("--fd-limit", type=int, default=64)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    args.binary = os.path.abspath(args.binary)
    want = args.unknown + args.fd_limit * 2 + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, hard),
                                                    max(want, hard)))
    dir = tempfile.mkdtemp(prefix="trload.")
    try:
        pki = PKI(os.path.join(dir, "pki"))
        ok = unknown_flood(args, pki, dir)
        ok = fd_exhaustion(args, pki, dir) and ok
    finally:
        if args.keep:
            print("kept %s" % dir)
        else:
            shutil.rmtree(dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
