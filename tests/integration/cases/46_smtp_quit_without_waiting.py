"""A device that sends the final dot and QUIT, then closes at once: the
relay still waits for the upstream's verdict, so the message is delivered
and counted."""

from harness.case import Case
from harness.clients import b64, make_message
from harness.relay import device


def client(ctx):
    c = ctx.raw("smtp")
    ctx.check(c.reply()[0] == 220, "no greeting")
    c.send("EHLO scanner.lan\r\n")
    ctx.check(c.reply()[0] == 250, "EHLO refused")
    ctx.secrets.add(ctx.password)
    c.send("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (ctx.user, ctx.password)))
    ctx.check(c.reply()[0] == 235, "AUTH refused")
    c.send("MAIL FROM:<%s>\r\n" % ctx.user)
    ctx.check(c.reply()[0] == 250, "MAIL refused")
    c.send("RCPT TO:<inbox@example.test>\r\n")
    ctx.check(c.reply()[0] == 250, "RCPT refused")
    c.send("DATA\r\n")
    ctx.check(c.reply()[0] == 354, "DATA refused")
    c.send(make_message(ctx.msgid) + ".\r\nQUIT\r\n")
    c.close()
    ctx.check(ctx.postfix.wait_message(ctx.msgid, 20),
              "the message was lost when the device did not wait")


CASE = Case(
    "final dot and QUIT, then the device closes at once -> still delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
