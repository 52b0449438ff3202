"""The token endpoint is down (closed port): every protocol gets its
temporary failure and the relay logs event=token_failed saying the
connection was refused."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, temporary, wait_token_line
from harness.steps import imap_login, pop3_login, smtp_login


def client(ctx):
    ctx.tokens.down()
    s, reply = smtp_login(ctx)
    text = ctx.expect_code(reply, 454, "AUTH with the token endpoint down")
    ctx.check(text.startswith("4.7.0"), "AUTH reply %r, expected 454 4.7.0"
              % text)
    line = wait_token_line(ctx, "token_failed")
    ctx.note("token_failed line: %s" % line)
    ctx.check("refused" in line.lower(), "the token_failed line does not "
              "say the connection was refused: %s" % line)
    p, reply = pop3_login(ctx)
    ctx.check(reply.startswith("-ERR [SYS/TEMP]"), "POP3 PASS with the "
              "token endpoint down: %r" % reply)
    imap, (typ, text) = imap_login(ctx)
    ctx.check(typ == "NO" and "[UNAVAILABLE]" in text, "IMAP LOGIN with "
              "the token endpoint down: %s %r" % (typ, text))
    ctx.check(ctx.tokens.count == 0, "a request reached the closed port?")


CASE = Case(
    "token endpoint down -> SMTP 454 4.7.0, POP3 -ERR [SYS/TEMP], IMAP NO "
    "[UNAVAILABLE], event=token_failed",
    client,
    protocols=("smtp", "pop3", "imap"),
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    devices=[oauth_device("mfp-oauth", protocols=("smtp", "pop3", "imap"))],
    delivered=False,
    log={"event": "end", "result": temporary, "device": "mfp-oauth",
         "protocol": "smtp", "messages": "0"},
)
