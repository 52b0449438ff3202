"""SIGHUP with an invalid devices file: the reload fails with the error's
file and line, and the previous device list stays in force."""

from harness.case import Case
from harness.relay import device, settings_file
from harness.steps import auth_send_quit, refused_greeting

DEVICE_A = device("scanner-a", "127.0.0.1", plaintext_auth=True)
DEVICE_B = device("scanner-b", "127.0.0.3", plaintext_auth=True)
BROKEN = device("broken", "127.0.0.4", sunset="2027-13-01")


def client(ctx):
    # B is valid, but the file as a whole is not: nothing of it may apply.
    text = settings_file({"devices": [DEVICE_B, BROKEN]})
    line = next(i for i, l in enumerate(text.splitlines(), 1)
                if "2027-13-01" in l)
    mark = len(ctx.relay.lines())
    ctx.relay.write_devices_text(text)
    ctx.relay.reload(expect="reload failed")
    new = ctx.relay.lines()[mark:]
    ctx.check(any("devices.conf:%d:" % line in l for l in new),
              "the failed reload did not log the devices.conf:%d error: %r"
              % (line, new))
    ctx.check(not any("configuration reloaded" in l for l in new),
              "'configuration reloaded' logged for an invalid file")

    refused_greeting(ctx, source="127.0.0.3")
    refused = ctx.relay.wait_session(5, event="refused", reason="unknown")
    ctx.check(refused is not None, "no refused line for B, which is only "
              "in the invalid file")

    s, greeting = ctx.smtp("smtp", source="127.0.0.1")
    ctx.expect_code(greeting, 220, "greeting for A after the failed reload")
    ctx.ehlo(s)
    auth_send_quit(ctx, s, "AUTH for A")


CASE = Case(
    "SIGHUP with an invalid devices file: reload failed, old devices still "
    "admitted",
    client,
    upstream="postfix",
    devices=[DEVICE_A],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-a"},
)
