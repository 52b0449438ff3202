"""A plaintext_auth device logs in without TLS; RSET undoes a DELE."""

from harness.case import Case
from harness.pop3 import check_message, connect, delete_and_quit, login
from harness.relay import device


def client(ctx):
    p = connect(ctx, "pop3")
    caps = p.capa()
    ctx.check("USER" in caps and "STLS" in caps,
              "CAPA of a plaintext_auth device: %r" % sorted(caps))
    ctx.check(login(ctx, p).startswith(b"+OK"), "PASS refused")
    check_message(ctx, 1, p.retr(2)[1])
    p.dele(2)
    ctx.check(p.stat()[0] == 2, "STAT after DELE 2")
    ctx.check(p.rset().startswith(b"+OK"), "RSET refused")
    ctx.check(p.stat()[0] == 3, "STAT after RSET")
    caps = p.capa()
    ctx.check("USER" not in caps and "STLS" not in caps and "TOP" in caps and
              "UIDL" in caps, "CAPA after login: %r" % sorted(caps))
    ctx.check(p.noop().startswith(b"+OK"), "NOOP refused")
    delete_and_quit(ctx, p, [1])


CASE = Case(
    "poplib plaintext (plaintext_auth = true): RETR 2, DELE+RSET, DELE 1",
    client,
    protocols=("pop3",),
    devices=[device("ups-1", "127.0.0.1", protocols=["pop3"],
                    plaintext_auth=True)],
    log={"event": "end", "result": "ok", "protocol": "pop3",
         "messages": "1", "lan_tls": "none", "device": "ups-1"},
)
