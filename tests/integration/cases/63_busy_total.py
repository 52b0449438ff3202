"""limits.max_sessions = 1: while one device has a session, any other
connection gets 421 4.7.0 and event=refused reason=busy; the open
session still delivers."""

from harness.case import Case
from harness.relay import device
from harness.steps import ctx_auth_plain

SCANNER = device("scanner-1", "127.0.0.1", plaintext_auth=True)
OTHER = device("copier-9", "127.0.0.3", plaintext_auth=True)


def client(ctx):
    first, greeting = ctx.smtp("smtp", source="127.0.0.1")
    ctx.expect_code(greeting, 220, "greeting of the first session")
    ctx.ehlo(first)

    c = ctx.raw("smtp", source="127.0.0.3")
    code, lines = c.reply()
    ctx.check(code == 421 and len(lines) == 1 and
              lines[0].startswith("421 4.7.0 "),
              "another device while one session is open: expected "
              "'421 4.7.0 ...', got %r" % lines)
    closed, rest = c.wait_closed(5)
    ctx.check(closed, "connection still open after the 421")
    refused = ctx.relay.wait_session(5, event="refused", reason="busy",
                                     device="copier-9")
    ctx.check(refused is not None, "no event=refused reason=busy line for "
              "copier-9")
    ctx.check(refused.get("detail") == "too many sessions",
              "busy line detail=%r, expected 'too many sessions'"
              % refused.get("detail"))

    ctx.expect_code(ctx_auth_plain(ctx, first), 235,
                    "AUTH on the first session")
    ctx.send(first)
    ctx.expect_code(first.docmd("QUIT"), 221, "QUIT of the first session")
    # Like every refusal line (tlsrelayd(8) LOGGING), the busy one names
    # the device, so it must carry its sunset and days_left too.
    ctx.check_sunset(refused)


def settings(s):
    s["limits"]["max_sessions"] = 1


CASE = Case(
    "max_sessions=1: another device -> 421 4.7.0, reason=busy; the open "
    "session delivers",
    client,
    upstream="postfix",
    devices=[SCANNER, OTHER],
    settings=settings,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
