"""Unknown clients on an implicit-TLS listener never hold a session: the
address is judged at accept and an unknown one is closed before any TLS
handshake (after at most a 3 s wait for a ClientHello, 4 per address, which
takes no session), so 40 stalled connections from 127.0.0.2 (against
max_sessions 5) leave room for the registered device, which is served.
The refusals are logged once per address per minute, not once each."""

import time

from harness.case import Case
from harness.relay import device
from harness.stalled import count_closed, stall
from harness.steps import auth_send_quit

STALLED = 40
MAX_SESSIONS = 5
UNKNOWN = "127.0.0.2"


def client(ctx):
    socks = stall(ctx.port("smtps"), STALLED, UNKNOWN)
    ctx.check(len(socks) == STALLED, "only %d of %d unknown connections "
              "opened" % (len(socks), STALLED))
    time.sleep(0.5)
    s, greeting = ctx.smtp("smtps")
    ctx.expect_code(greeting, 220, "registered device's greeting while "
                    "unknown clients stall")
    ctx.ehlo(s)
    auth_send_quit(ctx, s)
    closed = count_closed(socks, 3)
    ctx.check(closed == STALLED, "%d of %d unknown connections still open"
              % (STALLED - closed, STALLED))
    lines = ctx.relay.wait_sessions(2, 1, event="refused", reason="unknown")
    ctx.check(len(lines) == 1 and lines[0].get("client") == UNKNOWN and
              lines[0].get("listener") == "smtps",
              "expected one rate-limited refused line for 127.0.0.2, got %r"
              % lines)
    ctx.check(not any("lan_tls_failed" in l for l in ctx.relay.lines()),
              "an unknown client got a TLS handshake")


def settings(s):
    s["limits"]["max_sessions"] = MAX_SESSIONS


CASE = Case(
    "40 stalled unknown clients on SMTPS (max_sessions 5) -> closed "
    "unhandshaken, one log line; the registered device is served",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1")],
    settings=settings,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
