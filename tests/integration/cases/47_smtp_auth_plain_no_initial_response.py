"""AUTH PLAIN without an initial response (RFC 4954 section 4): the device
sends a bare "AUTH PLAIN", the relay must prompt with exactly "334 " (a
space and nothing else: some appliances compare the prompt byte for byte
and hang on "334" or "334 ="), then take the base64 credentials on the
next line, log in upstream and relay a message to the real Postfix."""

from harness.case import Case
from harness.clients import b64, make_message, reply_bytes
from harness.relay import device
from harness.steps import raw_expect, raw_send_message


def client(ctx):
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    lines = raw_expect(ctx, c, "EHLO scanner.lan", 250, "EHLO")
    ctx.check("250-AUTH PLAIN LOGIN" in lines, "AUTH PLAIN not offered: %r"
              % lines)
    c.send("AUTH PLAIN\r\n")
    prompt = reply_bytes(c, 10)
    ctx.check(prompt == b"334 \r\n", "AUTH PLAIN without an initial "
              "response: expected exactly b'334 \\r\\n', got %r" % prompt)
    ctx.secrets.add(ctx.password)
    lines = raw_expect(ctx, c, b64("\0%s\0%s" % (ctx.user, ctx.password)),
                       235, "credentials after the 334 prompt")
    ctx.check(lines[-1].startswith("235 "), "AUTH reply %r" % lines)
    raw_send_message(ctx, c, make_message(ctx.msgid).encode(),
                     what="message after AUTH PLAIN without IR")
    raw_expect(ctx, c, "QUIT", 221, "QUIT")


CASE = Case(
    "bare 'AUTH PLAIN' -> exactly '334 ', credentials line -> 235, delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1", "user": "scanner@example.test"},
)
