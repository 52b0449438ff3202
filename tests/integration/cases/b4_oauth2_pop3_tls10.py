"""oauth2 device over POP3S at TLS 1.0: the relay logs in to Dovecot with
XOAUTH2 and the device retrieves the seeded messages."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import MAILBOX, oauth_device
from harness.pop3 import make_messages, retrieve_all
from harness.steps import pop3_login


def client(ctx):
    p, reply = pop3_login(ctx)
    ctx.check(reply.startswith("+OK"), "PASS with the device secret: %r"
              % reply)
    retrieve_all(ctx, p)
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    ctx.check(ctx.mailbox.count() == 3, "retrieval changed the mailbox")


CASE = Case(
    "oauth2 device, POP3S at TLS 1.0 -> XOAUTH2 to Dovecot POP3S, RETR "
    "every seeded message",
    client,
    protocols=("pop3",),
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth", protocols=("pop3",))],
    seed=make_messages("b4", big_lines=300),
    upstream_connections=1,
    log={"event": "end", "result": "ok", "protocol": "pop3",
         "messages": "3", "device": "mfp-oauth", "user": MAILBOX,
         "lan_tls": "TLSv1", "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
