"""oauth2 device over SMTP at TLS 1.0: the relay checks the device secret,
gets one app token and sends XOAUTH2 to Postfix; the second session reuses
the cached token."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import MAILBOX, oauth_device, token_lines
from harness.steps import smtp_send


def client(ctx):
    smtp_send(ctx, "smtps")
    second = ctx.msgid + "-starttls"
    smtp_send(ctx, "smtp", msgid=second)
    ctx.check(ctx.postfix.wait_message(second, 20),
              "the STARTTLS session's message was not delivered")
    ctx.check(len(token_lines(ctx, "token_ok")) == 1,
              "expected one event=token_ok line, log has %r"
              % token_lines(ctx, "token_ok"))
    ctx.check(ctx.tokens.token_requests()[0].credential == "secret",
              "the token request did not use the client secret")


CASE = Case(
    "oauth2 device, SMTPS and STARTTLS at TLS 1.0 -> XOAUTH2 to Postfix, "
    "delivered; 1 token request for 2 sessions",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth")],
    delivered=True,
    upstream_connections=2,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "mfp-oauth", "protocol": "smtp", "user": MAILBOX,
         "lan_tls": "TLSv1", "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
