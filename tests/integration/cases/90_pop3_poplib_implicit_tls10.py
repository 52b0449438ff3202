"""POP3S with a client pinned to TLS 1.0: every message, deletions."""

from harness.case import Case
from harness.pop3 import connect, delete_and_quit, login, retrieve_all
from harness.relay import device


def client(ctx):
    p = connect(ctx, "pop3s", tls="implicit")
    reply = login(ctx, p)
    ctx.check(reply.startswith(b"+OK"), "PASS: %r" % reply)
    retrieve_all(ctx, p)
    delete_and_quit(ctx, p, [1, 3])


CASE = Case(
    "poplib POP3S TLS 1.0 -> Dovecot POP3S: RETR all (dots, 700 KB), "
    "DELE 2 of 3",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "ok", "protocol": "pop3",
         "messages": "3", "lan_tls": "TLSv1", "device": "scanner-1",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"},
         "user": "scanner@example.test"},
)
