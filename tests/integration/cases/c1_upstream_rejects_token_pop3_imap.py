"""Dovecot refuses a revoked token over POP3 and IMAP: -ERR [AUTH] and NO
[AUTHENTICATIONFAILED] reach the device, and each refusal makes the next
login fetch a new token."""

from harness.case import Case
from harness.clients import make_message, unique_id
from harness.fixtures import tokens
from harness.oauth import oauth_device
from harness.steps import imap_login, pop3_login

KNOWN = unique_id("c1-known")


def client(ctx):
    imap, (typ, text) = imap_login(ctx)
    ctx.check(typ == "OK", "IMAP LOGIN: %s %r" % (typ, text))
    imap.logout()
    ctx.tokens.revoke()
    p, reply = pop3_login(ctx)
    ctx.check(reply.startswith("-ERR [AUTH]"), "POP3 PASS, token revoked "
              "upstream: %r" % reply)
    p.quit()
    imap, (typ, text) = imap_login(ctx)
    ctx.check(typ == "OK", "IMAP LOGIN after the refusal: %s %r"
              % (typ, text))
    imap.logout()
    ctx.check(ctx.tokens.count == 2, "%d token requests, expected 2"
              % ctx.tokens.count)

    ctx.tokens.revoke()
    imap, (typ, text) = imap_login(ctx)
    ctx.check(typ == "NO" and "[AUTHENTICATIONFAILED]" in text,
              "IMAP LOGIN, token revoked upstream: %s %r" % (typ, text))
    imap.logout()
    p, reply = pop3_login(ctx)
    ctx.check(reply.startswith("+OK"), "POP3 PASS after the refusal: %r"
              % reply)
    count, _ = p.stat()
    ctx.check(count == 1, "STAT: %d messages, 1 seeded" % count)
    p.quit()
    for protocol in ("pop3", "imap"):
        fields = ctx.relay.wait_session(10, event="end", protocol=protocol,
                                        result="auth_failed")
        ctx.check(fields is not None, "no %s end line with result="
                  "auth_failed" % protocol)


CASE = Case(
    "Dovecot refuses a revoked token -> POP3 -ERR [AUTH], IMAP NO "
    "[AUTHENTICATIONFAILED]; each next login gets a new token",
    client,
    protocols=("pop3", "imap"),
    upstream="oauth",
    fixtures=[tokens(token_requests=3)],
    devices=[oauth_device("mfp-oauth", protocols=("pop3", "imap"))],
    seed=[(KNOWN, make_message(KNOWN))],
    upstream_connections=5,
)
