"""Exchange Online's SMTP refusals explained: an upstream that words its
refusals as Exchange Online does (5.7.139 at AUTH, 5.7.60 at MAIL, 5.7.64
at RCPT) gets the device the table's reply (temporary where retrying can
help) and the admin one upstream_refusal line with the code, meaning and
action; an unknown refusal reaches the device unchanged and is logged as it
came, escaped. A refused login leaves the device free to log in again."""

from harness.case import Case
from harness.clients import auth_plain
from harness.relay import device


def refusal_logged(ctx, code):
    """The upstream_refusal line of a table code, with meaning and action."""
    line = ctx.relay.wait_session(event="upstream_refusal", code=code)
    ctx.check(line is not None, "no upstream_refusal line with code=%s"
              % code)
    ctx.check(line.get("meaning") and line.get("action"),
              "upstream_refusal code=%s lacks meaning or action: %r"
              % (code, line))
    return line


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    code, text = auth_plain(s, "auth-disabled@example.test", "pw-1")
    ctx.check(code == 454 and b"5.7.139" in text,
              "AUTH refused with 5.7.139 upstream: device got %d %r, "
              "expected 454 naming 5.7.139" % (code, text))
    line = refusal_logged(ctx, "smtp_auth_disabled")
    ctx.check("5.7.139" in line.get("reply", ""), "reply not logged: %r"
              % line)
    ctx.expect_code(auth_plain(s, "scanner@example.test", "pw-2"), 235,
                    "AUTH again after the refusal")
    code, text = s.docmd("MAIL", "FROM:<sendas@example.test>")
    ctx.check(code == 550 and text.startswith(b"5.7.60"),
              "MAIL refused with 5.7.60: device got %d %r" % (code, text))
    refusal_logged(ctx, "send_as_denied")
    ctx.expect_code(s.docmd("RSET"), 250, "RSET")
    ctx.expect_code(s.docmd("MAIL", "FROM:<scanner@example.test>"), 250,
                    "MAIL")
    code, text = s.docmd("RCPT", "TO:<relay-denied@example.org>")
    ctx.check(code == 450 and b"5.7.64" in text,
              "RCPT refused with 5.7.64: device got %d %r, expected a "
              "temporary 450 naming 5.7.64" % (code, text))
    refusal_logged(ctx, "relay_denied")
    code, text = s.docmd("RCPT", "TO:<unknown@example.org>")
    ctx.check(code == 550 and text == "5.1.10 RESOLVER.ADR.RecipientNotFound;"
              " Empf\u00e4nger not found by SMTP address lookup".encode(),
              "unknown refusal not passed on unchanged: %d %r"
              % (code, text))
    line = ctx.relay.wait_session(event="upstream_refusal",
                                  reply=lambda r: r and "5.1.10" in r)
    ctx.check(line is not None and "code" not in line and
              "Empf\\xc3\\xa4nger" in line.get("reply", ""),
              "unknown refusal not logged escaped as it came: %r" % line)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


CASE = Case(
    "Exchange Online refusals: table reply to the device, advice in the log",
    client,
    upstream="exchange",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    log={"event": "end", "result": "ok", "device": "scanner-1"},
)
