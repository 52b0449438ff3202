"""Fixture check: the fault server's modes do what the cases assume."""

import socket
import ssl

from harness.case import Case
from harness.clients import (close_quietly, legacy_context, modern_context,
                             smtp_connect)
from harness.faultserver import GARBAGE_GREETING, FaultServer


def starttls_with(ctx, mode, tls):
    """STARTTLS to a fresh fault server; returns the TLS version or error."""
    fault = FaultServer(ctx.pki, mode).start()
    s, greeting = smtp_connect(fault.port, host="localhost")
    try:
        s.ehlo("fixture.test")
        s.starttls(context=tls)
        return s.sock.version()
    except (ssl.SSLError, OSError) as e:
        return "error: %s" % e
    finally:
        close_quietly(s)
        fault.stop()


def first_bytes(ctx, mode, wait=0.5):
    """What a fresh fault server sends first (b"" if nothing in wait s)."""
    fault = FaultServer(ctx.pki, mode).start()
    try:
        with socket.create_connection(("127.0.0.1", fault.port), 5) as s:
            s.settimeout(wait)
            try:
                return s.recv(200)
            except socket.timeout:
                return b""
    finally:
        fault.stop()


def client(ctx):
    good = modern_context(ctx.pki.ca)
    expect = [
        ("tls11", legacy_context(ssl.TLSVersion.TLSv1_1), "TLSv1.1"),
        ("tls11", legacy_context(ssl.TLSVersion.TLSv1_2), "error"),
        ("wrongname", good, "error"),
        ("wrongname", modern_context(ctx.pki.ca, hostname_check=False),
         "TLSv1.3"),
        ("selfsigned", good, "error"),
        ("good", good, "TLSv1.3"),
    ]
    for mode, tls, want in expect:
        got = starttls_with(ctx, mode, tls)
        ctx.check(got.startswith(want), "fault mode %s: want %s, got %s"
                  % (mode, want, got))
    got = first_bytes(ctx, "silent")
    ctx.check(got == b"", "fault mode silent sent %r" % got)
    got = first_bytes(ctx, "garbage")
    ctx.check(got == GARBAGE_GREETING.encode() + b"\r\n",
              "fault mode garbage sent %r" % got)


CASE = Case("fault server modes behave as the cases assume (no relay)",
            client, upstream=None, relay=False)
