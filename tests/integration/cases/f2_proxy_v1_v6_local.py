"""Good PROXY headers of every kind: v1 TCP4, v1 TCP6 and v2 TCP6 make
the header's address the client; a v2 LOCAL (a health check) is closed
without a session or refusal line; an address no device has, behind a
valid header, is refused by the allow-list under that address."""

from harness.case import Case
from harness.proxy import (PROXY_SOURCE, add_proxy_listener,
                           closed_silently, connect, listener_port,
                           proxied_smtp, v1_header, v2_header, v2_local)
from harness.relay import device

V4 = "127.0.0.6"
V6 = "2001:db8::6"
UNKNOWN = "127.0.0.7"


def greeted(ctx, header, what):
    """Connect through header: 220, then QUIT."""
    s, greeting = proxied_smtp(ctx, header)
    ctx.expect_code(greeting, 220, what)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT (%s)" % what)


def client(ctx):
    greeted(ctx, v1_header(V4), "v1 TCP4")
    greeted(ctx, v1_header(V6, dst="::1"), "v1 TCP6")
    greeted(ctx, v2_header(V6), "v2 TCP6")
    ctx.check(len(ctx.relay.wait_sessions(3, event="end", result="ok",
                                          proxy=PROXY_SOURCE)) == 3,
              "not three end lines with proxy=%s" % PROXY_SOURCE)
    clients = [f.get("client") for f in ctx.relay.sessions()
               if f.get("event") == "end"]
    ctx.check(clients == [V4, V6, V6], "clients logged: %r" % clients)

    sock = connect(listener_port(ctx.relay), header=v2_local())
    closed, data = closed_silently(sock)
    ctx.check(closed and data == b"", "LOCAL got %r" % data)

    s, greeting = proxied_smtp(ctx, v2_header(UNKNOWN))
    ctx.expect_code(greeting, 554, "unknown device behind the proxy")
    line = ctx.relay.wait_session(5, event="refused", client=UNKNOWN)
    ctx.check(line is not None and line.get("proxy") == PROXY_SOURCE,
              "refused line: %r" % line)
    ctx.check(not [e for e in ctx.relay.events()
                   if e.get("event") == "proxy_refused"],
              "a proxy_refused line for a good header")
    ctx.check(len([f for f in ctx.relay.sessions()
                   if f.get("event") == "start"]) == 3,
              "the LOCAL connection or the refusal got a start line")


CASE = Case(
    "PROXY v1 TCP4/TCP6, v2 TCP6 -> header address is the client; LOCAL "
    "silent; unknown -> 554",
    client,
    upstream="postfix",
    devices=[device("printer-4", V4), device("printer-6", V6)],
    settings=add_proxy_listener,
)
