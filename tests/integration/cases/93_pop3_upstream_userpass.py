"""An upstream without SASL: the relay turns the device's AUTH LOGIN into
USER/PASS upstream and relays the message unchanged."""

from harness.case import Case
from harness.clients import b64
from harness.pop3 import raw
from harness.pop3fault import MESSAGE
from harness.relay import device


def client(ctx):
    c, greeting = raw(ctx, "pop3s", tls=True)
    ctx.check(c.cmd("AUTH LOGIN " + b64(ctx.user)) == "+ UGFzc3dvcmQ6",
              "AUTH LOGIN prompt")
    ctx.check(c.cmd(b64(ctx.password)).startswith("+OK"), "login refused")
    ctx.check(c.cmd("RETR 1").startswith("+OK"), "RETR 1")
    got = c.multi()
    want = ["." + l if l.startswith(".") else l
            for l in MESSAGE.split("\r\n")[:-1]]
    ctx.check(got == want, "message differs (%d lines, want %d)"
              % (len(got), len(want)))
    ctx.check(c.cmd("QUIT").startswith("+OK"), "QUIT")
    sent = [l.split()[0].upper() for l in ctx.pop3_fault.sent()]
    ctx.check(sent == ["CAPA", "USER", "PASS", "RETR", "QUIT"],
              "relay sent %r upstream" % sent)


CASE = Case(
    "upstream CAPA with USER only -> USER/PASS upstream, RETR relayed",
    client,
    protocols=("pop3",),
    upstream="userpass",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "ok", "messages": "1"},
)
