"""An upstream without capabilities in its greeting, without SASL-IR and
then without AUTH=PLAIN: the relay asks CAPABILITY, uses AUTHENTICATE PLAIN
with a continuation, else LOGIN with quoted strings or literals."""

from harness.case import Case
from harness.imap import connect, expect_ok, logout, raw
from harness.relay import device

QUOTED = 'pa"ss\\word'	# needs escapes in a quoted string
EIGHT_BIT = "p\u00e4ssw\u00f6rd"	# needs a literal (no LITERAL+ upstream)


def login_raw(ctx, password, literal):
    """LOGIN on the LAN side (quoted, or a literal), then NOOP, LOGOUT."""
    ctx.secrets.add(password)
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    if literal:
        data = password.encode()
        c.send(b'A1 LOGIN "%s" {%d+}\r\n%s\r\n'
               % (ctx.user.encode(), len(data), data))
        lines = c.until_tagged("A1")
    else:
        escaped = password.replace("\\", "\\\\").replace('"', '\\"')
        lines = c.command("A1", 'LOGIN "%s" "%s"' % (ctx.user, escaped))
    ctx.check(lines and lines[-1].startswith("A1 OK"), "LOGIN: %r" % lines)
    for tag, cmd in (("A2", "NOOP"), ("A3", "LOGOUT")):
        lines = c.command(tag, cmd)
        ctx.check(lines and lines[-1].startswith(tag + " OK"),
                  "%s: %r" % (cmd, lines))


def client(ctx):
    imap = connect(ctx, "imaps")
    expect_ok(ctx, imap.login(ctx.user, ctx.password), "LOGIN")
    expect_ok(ctx, imap.noop(), "NOOP")
    logout(ctx, imap)
    login_raw(ctx, QUOTED, literal=False)
    login_raw(ctx, EIGHT_BIT, literal=True)
    want = ["auth: PLAIN %s %s" % (ctx.user, ctx.password),
            "auth: LOGIN %s %s" % (ctx.user, QUOTED),
            "auth: LOGIN %s %s" % (ctx.user, EIGHT_BIT)]
    got = [e for e in ctx.fault.events if e.startswith("auth: ")]
    ctx.check(got == want, "upstream logins: %r, expected %r" % (got, want))
    sent = [t for tr in ctx.fault.transcripts for d, t in tr if d == "C"]
    ctx.check(any(t.endswith(" CAPABILITY") for t in sent),
              "the relay did not ask for CAPABILITY: %r" % sent)
    ctx.check(any(t.endswith("{%d}" % len(EIGHT_BIT.encode()))
                  for t in sent),
              "no synchronizing literal for the 8-bit password: %r" % sent)


CASE = Case(
    "upstream without SASL-IR / AUTH=PLAIN / LITERAL+: PLAIN by +, LOGIN",
    client,
    protocols=("imap",),
    upstream="oldserver",
    devices=[device("mfp-12", "127.0.0.1", protocols=("imap",))],
    upstream_connections=3,
    debug=True,
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "mfp-12", "reason": lambda v: "BYE" in v},
)
