"""A proxy_protocol listener: a v2 header from the trusted proxy makes the
header's address the client (allow-list, logs), the proxy logged beside
it; the same device connecting directly is not trusted there."""

from harness.case import Case
from harness.proxy import (PROXY_SOURCE, add_proxy_listener,
                           closed_silently, connect, listener_port,
                           proxied_smtp, v2_header)
from harness.relay import device
from harness.steps import auth_send_quit

DEVICE = "127.0.0.5"


def client(ctx):
    s, greeting = proxied_smtp(ctx, v2_header(DEVICE, sport=41234))
    ctx.expect_code(greeting, 220, "greeting behind a v2 header")
    ctx.ehlo(s)
    auth_send_quit(ctx, s)

    direct = connect(listener_port(ctx.relay), source=DEVICE,
                     header=v2_header(DEVICE))
    closed, data = closed_silently(direct)
    ctx.check(closed and data == b"", "a header from untrusted %s got %r "
              "(closed: %s)" % (DEVICE, data, closed))
    line = ctx.relay.wait_event(5, event="proxy_refused", proxy=DEVICE)
    ctx.check(line is not None and line.get("reason") ==
              "not a trusted proxy", "no proxy_refused line for %s: %r"
              % (DEVICE, line))


CASE = Case(
    "PROXY v2 from %s: client=%s allowed, proxy= logged; direct -> closed"
    % (PROXY_SOURCE, DEVICE),
    client,
    upstream="postfix",
    devices=[device("scanner-1", DEVICE, plaintext_auth=True)],
    settings=add_proxy_listener,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "client": DEVICE, "proxy": PROXY_SOURCE, "device": "scanner-1"},
)
