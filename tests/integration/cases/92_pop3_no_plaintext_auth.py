"""Without plaintext_auth, credentials need TLS: CAPA offers STLS and no
USER/SASL, USER/PASS/AUTH get -ERR [AUTH]; after STLS they work."""

from harness.case import Case
from harness.clients import b64, legacy_context
from harness.pop3 import raw, session_end
from harness.relay import device


def client(ctx):
    c, greeting = raw(ctx, "pop3")
    ctx.check(greeting.startswith("+OK"), "greeting %r" % greeting)
    caps = c.capa()
    ctx.check(caps == ["STLS", "RESP-CODES", "AUTH-RESP-CODE"],
              "CAPA before TLS: %r" % caps)
    for command in ("USER %s" % ctx.user, "PASS %s" % ctx.password,
                    "AUTH PLAIN " + b64("\0%s\0%s" % (ctx.user,
                                                      ctx.password)),
                    "AUTH LOGIN"):
        reply = c.cmd(command)
        ctx.check(reply.startswith("-ERR [AUTH] ") and "STLS" in reply,
                  "%s: %r" % (command.split()[0], reply))
    for command in ("RETR 1", "APOP u d", "XYZZY"):
        reply = c.cmd(command)
        ctx.check(reply.startswith("-ERR "), "%s: %r" % (command, reply))
    ctx.check(c.cmd("STLS").startswith("+OK"), "STLS refused")
    c.sock = legacy_context().wrap_socket(c.sock)
    caps = c.capa()
    ctx.check(caps == ["USER", "SASL PLAIN LOGIN", "RESP-CODES",
                       "AUTH-RESP-CODE"], "CAPA after STLS: %r" % caps)
    ctx.check(c.cmd("STLS").startswith("-ERR"), "second STLS")
    ctx.check(c.cmd("USER %s" % ctx.user).startswith("+OK"), "USER")
    ctx.check(c.cmd("PASS %s" % ctx.password).startswith("+OK"), "PASS")
    ctx.check(c.cmd("STAT").startswith("+OK 3 "), "STAT")
    ctx.check(c.cmd("USER x").startswith("-ERR"), "USER after login")
    ctx.check(c.cmd("QUIT").startswith("+OK"), "QUIT")
    session_end(ctx, result="ok", lan_tls="TLSv1", user=ctx.user)


CASE = Case(
    "no plaintext_auth: CAPA/USER/AUTH before STLS, -ERR [AUTH]; then OK",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
)
