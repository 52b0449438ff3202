"""AUTH LOGIN prompts byte for byte: "334 VXNlcm5hbWU6" ("Username:") and
"334 UGFzc3dvcmQ6" ("Password:"), the forms every appliance firmware
expects (some match the base64 text literally). "AUTH LOGIN <user>" with
the user name as initial response gets only the password prompt. Cases
11 and 12 run the same dialogues through smtplib, which only looks at the
334 code; this one checks the raw bytes and that both sessions deliver."""

from harness.case import Case
from harness.clients import b64, make_message, reply_bytes
from harness.relay import device
from harness.steps import raw_expect, raw_send_message

USER_PROMPT = b"334 VXNlcm5hbWU6\r\n"
PASS_PROMPT = b"334 UGFzc3dvcmQ6\r\n"


def login_session(ctx, tag, inline_user):
    """One session: EHLO, AUTH LOGIN (classic or with the user inline), a
    message carrying tag, QUIT."""
    what = "AUTH LOGIN <user>" if inline_user else "AUTH LOGIN"
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    raw_expect(ctx, c, "EHLO scanner.lan", 250, "EHLO")
    ctx.secrets.add(ctx.password)
    if inline_user:
        c.send("AUTH LOGIN %s\r\n" % b64(ctx.user))
    else:
        c.send("AUTH LOGIN\r\n")
        prompt = reply_bytes(c, 10)
        ctx.check(prompt == USER_PROMPT, "%s: expected exactly %r, got %r"
                  % (what, USER_PROMPT, prompt))
        c.send(b64(ctx.user) + "\r\n")
    prompt = reply_bytes(c, 10)
    ctx.check(prompt == PASS_PROMPT, "%s: after the user name expected "
              "exactly %r (the password prompt only), got %r"
              % (what, PASS_PROMPT, prompt))
    lines = raw_expect(ctx, c, b64(ctx.password), 235, "%s: password" % what)
    ctx.check(lines[-1].startswith("235 "), "%s: reply %r" % (what, lines))
    raw_send_message(ctx, c, make_message(tag).encode(),
                     what="message after %s" % what)
    raw_expect(ctx, c, "QUIT", 221, "%s: QUIT" % what)
    ctx.check(ctx.postfix.wait_message("id: " + tag, 20),
              "%s: message %s not delivered" % (what, tag))


def client(ctx):
    login_session(ctx, ctx.msgid + "-classic", inline_user=False)
    login_session(ctx, ctx.msgid + "-inline", inline_user=True)
    ended = ctx.relay.wait_sessions(2, 10, event="end")
    ctx.check(len(ended) == 2 and
              all(f.get("result") == "ok" and f.get("messages") == "1" and
                  f.get("user") == ctx.user for f in ended),
              "expected two end lines with result=ok messages=1 user=%s, "
              "got %r" % (ctx.user, [(f.get("result"), f.get("messages"),
                                      f.get("user")) for f in ended]))


CASE = Case(
    "AUTH LOGIN prompts are exactly '334 VXNlcm5hbWU6' / '334 UGFzc3dvcmQ6';"
    " 'AUTH LOGIN <user>' gets only the second; both delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
