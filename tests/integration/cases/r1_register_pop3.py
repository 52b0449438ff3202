"""The exit register, POP3 retrieval: after STAT, LIST, TOP, RETR of every
message and two DELEs over POP3S at TLS 1.0, tlsrelayctl report --format
json counts each command Dovecot answered +OK, and the bytes retrieved."""

from harness.case import Case
from harness.pop3 import connect, delete_and_quit, login, retrieve_all
from harness.register import wait_row
from harness.relay import device


def client(ctx):
    p = connect(ctx, "pop3s", tls="implicit")
    reply = login(ctx, p)
    ctx.check(reply.startswith(b"+OK"), "PASS: %r" % reply)
    count = len(ctx.mailbox.messages)
    size = sum(len(m[1]) for m in ctx.mailbox.messages)
    retrieve_all(ctx, p)
    delete_and_quit(ctx, p, [1, 3])
    row = wait_row(ctx, "scanner-1", "pop3", lambda r: r["sessions"] == 1,
                   "the POP3 session")
    want = {"stat": 1, "list": 1, "top": 1, "retr": count, "dele": 2,
            "ok_sessions": 1, "lan_tls_used": "TLSv1",
            "best_offered": "TLSv1"}
    got = {k: row[k] for k in want}
    ctx.check(got == want, "register counts %r, expected %r" % (got, want))
    ctx.check(row["retr_bytes"] >= size,
              "retr_bytes %d, the messages hold %d" % (row["retr_bytes"],
                                                       size))
    ctx.check("no-evidence-yet" not in (row["flags"] or ""),
              "flags: %r" % row["flags"])


CASE = Case(
    "register: POP3 STAT/LIST/TOP/RETR/DELE counted, RETR bytes",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
)
