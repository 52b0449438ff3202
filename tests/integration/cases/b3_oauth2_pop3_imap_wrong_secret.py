"""oauth2 device with a wrong secret over POP3 and IMAP: -ERR [AUTH] and
NO [AUTHENTICATIONFAILED] from the relay itself, nothing upstream."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import WRONG_SECRET, oauth_device
from harness.steps import imap_login, pop3_login


def client(ctx):
    p, reply = pop3_login(ctx, secret=WRONG_SECRET)
    ctx.check(reply.startswith("-ERR [AUTH]"), "POP3 PASS with a wrong "
              "secret: %r" % reply)
    ctx.check(p.quit().startswith(b"+OK"), "POP3 QUIT")
    imap, (typ, text) = imap_login(ctx, secret=WRONG_SECRET)
    ctx.check(typ == "NO" and "[AUTHENTICATIONFAILED]" in text,
              "IMAP LOGIN with a wrong secret: %s %r" % (typ, text))
    imap.logout()
    for protocol in ("pop3", "imap"):
        fields = ctx.relay.wait_session(10, event="end", protocol=protocol)
        ctx.check(fields is not None and
                  fields.get("result") == "auth_failed" and
                  fields.get("device") == "mfp-oauth",
                  "%s end line: %r" % (protocol, fields))


CASE = Case(
    "oauth2 device, wrong secret over POP3S and IMAPS -> -ERR [AUTH], NO "
    "[AUTHENTICATIONFAILED]; no token, no upstream",
    client,
    protocols=("pop3", "imap"),
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    devices=[oauth_device("mfp-oauth", protocols=("pop3", "imap"))],
    upstream_connections=0,
)
