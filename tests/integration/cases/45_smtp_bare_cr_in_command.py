"""A bare CR inside a command line is refused by the relay (500 5.5.2)
and never forwarded: Postfix gets only the commands the relay checked.

`MAIL FROM:<dev@x> BODY=8BITMIME<CR>MAIL FROM:<ceo@x>` would, at an
upstream taking a bare CR as a line end, be a second MAIL command the
relay never looked at. The relay answers it itself; the session goes on,
and the next MAIL is the first Postfix sees (no "nested MAIL command"),
so the message arrives with the device's own envelope sender.
"""

from harness.case import Case
from harness.relay import device
from harness.steps import ctx_auth_plain

SMUGGLED = "ceo@example.test"


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH PLAIN")
    s.send(("MAIL FROM:<%s> BODY=8BITMIME\rMAIL FROM:<%s>\r\n"
            % (ctx.user, SMUGGLED)).encode())
    code, text = s.getreply()
    ctx.check(code == 500 and text.startswith(b"5.5.2 Bare CR"),
              "MAIL with a bare CR: expected the relay's 500 5.5.2, got "
              "%d %r" % (code, text))
    ctx.send(s)		# its MAIL would be a nested one after a forwarded one
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    path = ctx.postfix.wait_message(ctx.msgid, 20)
    ctx.check(path, "message not delivered")
    with open(path, "rb") as f:
        text = f.read()
    ctx.check(b"Return-Path: <%s>" % ctx.user.encode() in text and
              SMUGGLED.encode() not in text,
              "envelope sender is not the device's: %r" % text[:300])
    with open(ctx.postfix.maillog, errors="replace") as f:
        ctx.check(SMUGGLED not in f.read(), "Postfix's log names the "
                  "smuggled sender: the line reached it")


CASE = Case(
    "bare CR inside MAIL FROM -> 500 5.5.2 from the relay, nothing of it "
    "reaches Postfix, the next MAIL is delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
