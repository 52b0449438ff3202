"""The token endpoint answers AADSTS7000222 (the client secret has
expired): the device gets the usual temporary failure, and after the
token_failed line the log has one upstream_refusal line naming the expired
secret and what to do."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, temporary, wait_token_line
from harness.steps import pop3_login


def client(ctx):
    ctx.tokens.mode, ctx.tokens.fail_key = "aadsts", "expired_secret"
    p, reply = pop3_login(ctx)
    ctx.check(reply.startswith("-ERR [SYS/TEMP]"), "POP3 PASS with an "
              "expired app secret: %r" % reply)
    refused = ctx.tokens.refused()
    ctx.check(len(refused) == 1 and refused[0].outcome == "AADSTS7000222",
              "token server answers: %r" % [r.describe() for r in refused])
    wait_token_line(ctx, "token_failed", contains=("code=AADSTS7000222",
                                                   refused[0].trace_id))
    line = ctx.relay.wait_event(event="upstream_refusal")
    ctx.check(line is not None, "no event=upstream_refusal line")
    ctx.check(line.get("code") == "token_expired_secret",
              "code=%r, expected token_expired_secret" % line.get("code"))
    ctx.check(line.get("reply", "").startswith(
              "AADSTS7000222: The provided client secret keys for app "),
              "reply: %r" % line.get("reply"))
    ctx.check("expired" in line.get("meaning", ""),
              "meaning: %r" % line.get("meaning"))
    ctx.check("oauth2.client_secret_file" in line.get("action", ""),
              "action: %r" % line.get("action"))
    ctx.check("session" not in line and "device" not in line,
              "the token endpoint's refusal names a session: %r" % line)


CASE = Case(
    "AADSTS7000222 (expired app secret) -> -ERR [SYS/TEMP], token_failed "
    "and upstream_refusal code=token_expired_secret with the action",
    client,
    protocols=("pop3",),
    upstream="oauth",
    fixtures=[tokens(requests_valid=False, token_requests=1)],
    devices=[oauth_device("mfp-oauth", protocols=("pop3",))],
    log={"event": "end", "result": temporary, "device": "mfp-oauth",
         "protocol": "pop3"},
)
