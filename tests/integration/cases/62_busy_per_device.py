"""limits.max_sessions_per_device = 1: a second concurrent session of the
same device gets 421 4.7.0 and event=refused reason=busy; other devices
and the first session carry on, and the slot is free again afterwards."""

from harness.case import Case
from harness.relay import device
from harness.steps import auth_send_quit, busy_greeting

SCANNER = device("scanner-1", "127.0.0.1", plaintext_auth=True)
OTHER = device("copier-9", "127.0.0.3", plaintext_auth=True)


def client(ctx):
    first, greeting = ctx.smtp("smtp", source="127.0.0.1")
    ctx.expect_code(greeting, 220, "greeting of the first session")
    ctx.ehlo(first)

    text = busy_greeting(ctx, "127.0.0.1", "second session of scanner-1")
    ctx.note("busy reply: %s" % text)
    refused = ctx.relay.wait_session(5, event="refused", reason="busy",
                                     device="scanner-1")
    ctx.check(refused is not None, "no event=refused reason=busy line")
    ctx.check(refused.get("client") == "127.0.0.1",
              "busy line has client=%s" % refused.get("client"))

    other, greeting = ctx.smtp("smtp", source="127.0.0.3")
    ctx.expect_code(greeting, 220, "another device while scanner-1 is busy")
    ctx.expect_code(other.docmd("QUIT"), 221, "QUIT of the other device")

    auth_send_quit(ctx, first, "AUTH on the first session")
    ctx.check(ctx.relay.wait_session(10, event="end", device="scanner-1")
              is not None, "no end line for the first session")

    again, greeting = ctx.smtp("smtp", source="127.0.0.1")
    ctx.expect_code(greeting, 220, "scanner-1 after its session ended")
    ctx.expect_code(again.docmd("QUIT"), 221, "QUIT")
    # Like every refusal line (tlsrelayd(8) LOGGING), the busy one names
    # the device, so it must carry its sunset and days_left too.
    ctx.check_sunset(refused)


def settings(s):
    s["limits"]["max_sessions_per_device"] = 1


CASE = Case(
    "max_sessions_per_device=1: 2nd session -> 421 4.7.0, reason=busy; "
    "1st delivers",
    client,
    upstream="postfix",
    devices=[SCANNER, OTHER],
    settings=settings,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
