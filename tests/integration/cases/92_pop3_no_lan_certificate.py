"""Without a LAN certificate there is no STLS: a plaintext_auth device
logs in in the clear, any other device is told plaintext is not allowed."""

from harness.case import Case
from harness.pop3 import connect, login, raw, session_end
from harness.relay import device


def no_lan_tls(settings):
    del settings["lan_tls"]


def client(ctx):
    c, greeting = raw(ctx, "pop3", source="127.0.0.2")
    caps = c.capa()
    ctx.check(caps == ["RESP-CODES", "AUTH-RESP-CODE"],
              "CAPA without certificate or plaintext_auth: %r" % caps)
    reply = c.cmd("USER %s" % ctx.user)
    ctx.check(reply.startswith("-ERR [AUTH] ") and "STLS" not in reply,
              "USER: %r" % reply)
    ctx.check(c.cmd("STLS").startswith("-ERR"), "STLS without certificate")
    ctx.check(c.cmd("QUIT").startswith("+OK"), "QUIT")
    session_end(ctx, device="scanner-2", result="ok")
    p = connect(ctx, "pop3")
    caps = p.capa()
    ctx.check("USER" in caps and "STLS" not in caps, "CAPA: %r" % caps)
    ctx.check(login(ctx, p).startswith(b"+OK"), "PASS refused")
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    session_end(ctx, device="scanner-1", result="ok", lan_tls="none")


CASE = Case(
    "no LAN certificate: no STLS in CAPA; plaintext_auth device logs in",
    client,
    protocols=("pop3",),
    listeners=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"],
                    plaintext_auth=True),
             device("scanner-2", "127.0.0.2", protocols=["pop3"])],
    settings=no_lan_tls,
)
