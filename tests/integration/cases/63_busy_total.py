"""limits.max_sessions = 1: while one device has a session, any other
connection gets 421 4.7.0 and event=refused reason=busy; the open
session still delivers."""

from harness.case import Case
from harness.relay import device
from harness.steps import auth_send_quit, busy_greeting

SCANNER = device("scanner-1", "127.0.0.1", plaintext_auth=True)
OTHER = device("copier-9", "127.0.0.3", plaintext_auth=True)


def client(ctx):
    first, greeting = ctx.smtp("smtp", source="127.0.0.1")
    ctx.expect_code(greeting, 220, "greeting of the first session")
    ctx.ehlo(first)

    busy_greeting(ctx, "127.0.0.3", "another device while one session is "
                  "open")
    refused = ctx.relay.wait_session(5, event="refused", reason="busy",
                                     device="copier-9")
    ctx.check(refused is not None, "no event=refused reason=busy line for "
              "copier-9")
    ctx.check(refused.get("detail") == "too many sessions",
              "busy line detail=%r, expected 'too many sessions'"
              % refused.get("detail"))

    auth_send_quit(ctx, first, "AUTH on the first session")
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
