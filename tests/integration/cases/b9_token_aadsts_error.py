"""The app secret is wrong: the endpoint answers AADSTS7000215. Devices
get temporary failures, the log carries the code and trace id (never the
secret), and during the backoff no further request is made."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, temporary, wait_token_line
from harness.steps import imap_login, pop3_login, smtp_login

WRONG_APP_SECRET = "Zq8~wrong.app-secret_value-0123456789"


def client(ctx):
    s, reply = smtp_login(ctx)
    text = ctx.expect_code(reply, 454, "AUTH with a refused app secret")
    ctx.check(text.startswith("4.7.0"), "AUTH reply %r, expected 454 4.7.0"
              % text)
    refused = ctx.tokens.refused()
    ctx.check(len(refused) == 1 and refused[0].outcome == "AADSTS7000215",
              "token server answers: %r" % [r.describe() for r in refused])
    line = wait_token_line(ctx, "token_failed",
                           contains=("AADSTS7000215", "invalid_client",
                                     refused[0].trace_id))
    ctx.note("token_failed line: %s" % line)
    p, reply = pop3_login(ctx)
    ctx.check(reply.startswith("-ERR [SYS/TEMP]"), "POP3 PASS during the "
              "backoff: %r" % reply)
    imap, (typ, text) = imap_login(ctx)
    ctx.check(typ == "NO" and "[UNAVAILABLE]" in text, "IMAP LOGIN during "
              "the backoff: %s %r" % (typ, text))


CASE = Case(
    "AADSTS7000215 (wrong app secret) -> 454 4.7.0 / -ERR [SYS/TEMP] / NO "
    "[UNAVAILABLE], code and trace_id logged, backoff: 1 request",
    client,
    protocols=("smtp", "pop3", "imap"),
    upstream="oauth",
    fixtures=[tokens(app_secret=WRONG_APP_SECRET,
                     requests_valid=False,
                     token_requests=1)],
    devices=[oauth_device("mfp-oauth", protocols=("smtp", "pop3", "imap"))],
    delivered=False,
    log={"event": "end", "result": temporary, "device": "mfp-oauth",
         "protocol": "smtp", "messages": "0"},
)
