"""AUTH PLAIN and AUTH LOGIN from the device, with and without an initial
response; the relay logs in upstream and relays."""

from harness.case import Case
from harness.clients import b64
from harness.pop3 import raw
from harness.relay import device


def login_plain_ir(ctx, c):
    return c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (ctx.user, ctx.password)))


def login_plain(ctx, c):
    reply = c.cmd("AUTH PLAIN")
    ctx.check(reply == "+ ", "AUTH PLAIN challenge %r" % reply)
    return c.cmd(b64("\0%s\0%s" % (ctx.user, ctx.password)))


def login_login(ctx, c):
    reply = c.cmd("AUTH LOGIN")
    ctx.check(reply == "+ VXNlcm5hbWU6", "AUTH LOGIN prompt %r" % reply)
    reply = c.cmd(b64(ctx.user))
    ctx.check(reply == "+ UGFzc3dvcmQ6", "AUTH LOGIN prompt %r" % reply)
    return c.cmd(b64(ctx.password))


def login_login_ir(ctx, c):
    reply = c.cmd("AUTH LOGIN " + b64(ctx.user))
    ctx.check(reply == "+ UGFzc3dvcmQ6", "AUTH LOGIN prompt %r" % reply)
    return c.cmd(b64(ctx.password))


def client(ctx):
    c, greeting = raw(ctx, "pop3s", tls=True)
    ctx.check(greeting.startswith("+OK"), "greeting %r" % greeting)
    ctx.check(c.cmd("AUTH").startswith("+OK") and
              c.multi() == ["PLAIN", "LOGIN"], "bare AUTH list")
    ctx.check(c.cmd("AUTH CRAM-MD5").startswith("-ERR"), "AUTH CRAM-MD5")
    ctx.check(c.cmd("AUTH PLAIN") == "+ " and c.cmd("*").startswith("-ERR"),
              "AUTH PLAIN cancelled with *")
    ctx.check(c.cmd("AUTH PLAIN !!!").startswith("-ERR"), "bad base64")
    ctx.check(c.cmd("QUIT").startswith("+OK"), "QUIT before login")
    c.close()
    for n, login in enumerate((login_plain_ir, login_plain, login_login,
                               login_login_ir)):
        c, greeting = raw(ctx, "pop3s", tls=True)
        reply = login(ctx, c)
        ctx.check(reply.startswith("+OK"), "%s: %r" % (login.__name__,
                                                       reply))
        reply = c.cmd("STAT")
        ctx.check(reply.startswith("+OK 3 "), "STAT %r" % reply)
        ctx.check(c.cmd("QUIT").startswith("+OK"), "QUIT")
        c.close()
    lines = ctx.relay.wait_sessions(5, event="end", protocol="pop3")
    ctx.check(len(lines) == 5, "%d end lines, want 5" % len(lines))
    ctx.check([l.get("result") for l in lines] == ["ok"] * 5,
              "results %r" % [l.get("result") for l in lines])
    ctx.check([l.get("user") for l in lines[1:]] == [ctx.user] * 4,
              "users %r" % [l.get("user") for l in lines])


CASE = Case(
    "AUTH PLAIN/LOGIN with and without initial response over POP3S",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
)
