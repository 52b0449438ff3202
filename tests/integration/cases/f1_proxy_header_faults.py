"""Faulty PROXY headers from the trusted proxy: garbage, an unknown family,
an oversized v1 line, a connection closed mid-header, a truncated header
and none at all (both timed out after 5 s). Each is closed without a
byte and one proxy_refused line says why; no session starts."""

from harness.case import Case
from harness.proxy import (PROXY_SOURCE, add_proxy_listener,
                           closed_silently, connect, listener_port,
                           v2_header)
from harness.relay import device

DEVICE = "127.0.0.5"

# (what is sent, close our end after sending, the logged reason)
FAULTS = [
    (b"EHLO scanner.lan\r\n", False, "no PROXY header"),
    (v2_header(DEVICE, family=0x12), False,
     "v2 header with an unknown family or transport"),
    (b"PROXY UNKNOWN " + b"f" * 100 + b"\r\n", False,
     "v1 header longer than 107 bytes"),
    (v2_header(DEVICE)[:20], True,
     "closed in the middle of the PROXY header"),
    (v2_header(DEVICE)[:27], False, "PROXY header incomplete after 5 s"),
    (b"", False, "no PROXY header within 5 s"),
]


def client(ctx):
    port = listener_port(ctx.relay)
    socks = []
    for data, half_close, reason in FAULTS:
        sock = connect(port, header=data)
        if half_close:
            sock.sock.shutdown(1)
        socks.append((sock, reason))
    for sock, reason in socks:
        closed, got = closed_silently(sock, timeout=10)
        ctx.check(closed, "still open: %s" % reason)
        ctx.check(got == b"", "%s: the relay sent %r" % (reason, got))
    for _, _, reason in FAULTS:
        line = ctx.relay.wait_event(5, event="proxy_refused", reason=reason)
        ctx.check(line is not None, "no proxy_refused line with reason=%s"
                  % reason)
        ctx.check(line.get("proxy") == PROXY_SOURCE and
                  line.get("listener") == "smtp-lb",
                  "proxy_refused line: %r" % line)
    refused = [e for e in ctx.relay.events()
               if e.get("event") == "proxy_refused"]
    ctx.check(len(refused) == len(FAULTS), "%d proxy_refused lines for %d "
              "connections" % (len(refused), len(FAULTS)))
    ctx.check(ctx.relay.sessions() == [], "a session started: %r"
              % ctx.relay.sessions())


CASE = Case(
    "PROXY faults (garbage, family, >107 bytes, cut, timeouts) -> closed "
    "silently, one reason each",
    client,
    upstream="counting",
    devices=[device("scanner-1", DEVICE, plaintext_auth=True)],
    settings=add_proxy_listener,
    upstream_connections=0,
)
