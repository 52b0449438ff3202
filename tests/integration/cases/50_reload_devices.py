"""SIGHUP swaps the devices file; sessions already open carry on."""

from harness.case import Case
from harness.relay import device
from harness.steps import auth_send_quit, refused_greeting

DEVICE_A = device("scanner-a", "127.0.0.1", plaintext_auth=True)
DEVICE_B = device("scanner-b", "127.0.0.3", plaintext_auth=True)


def client(ctx):
    old, greeting = ctx.smtp("smtp", source="127.0.0.1")
    ctx.expect_code(greeting, 220, "greeting for A before the reload")
    ctx.ehlo(old)

    ctx.relay.reload([DEVICE_B])

    b, greeting = ctx.smtp("smtp", source="127.0.0.3")
    ctx.expect_code(greeting, 220, "greeting for B after the reload")
    ctx.expect_code(b.docmd("QUIT"), 221, "QUIT from B")
    refused_greeting(ctx, source="127.0.0.1")
    refused = ctx.relay.wait_session(event="refused", reason="unknown")
    ctx.check(refused is not None, "no refused line for A after the reload")

    auth_send_quit(ctx, old, "AUTH on the session opened before the reload")


CASE = Case(
    "SIGHUP: new devices apply to new sessions, the open one delivers",
    client,
    upstream="postfix",
    devices=[DEVICE_A],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-a"},
)
