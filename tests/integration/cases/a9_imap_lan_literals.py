"""Literals in the LAN phase: LOGIN with {n} and {n+} reaches Dovecot; an
oversized {n} or a bare CR in a command line is BAD and the session goes
on; an oversized {n+} ends it."""

from harness.case import Case, CaseFailure
from harness.imap import raw
from harness.relay import device

TOO_BIG = 5000		# over the relay's 1024-byte pre-login literal limit


def literal_login(ctx):
    """LOGIN {n} (waits for "+") then {n+}; LIST through the relay."""
    c = raw(ctx, "imap")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    c.send("A1 LOGIN {%d}\r\n" % len(ctx.user))
    cont = c.line()
    ctx.check(cont is not None and cont.startswith("+"),
              "no continuation for {n}: %r" % cont)
    c.send("%s {%d+}\r\n%s\r\n" % (ctx.user, len(ctx.password),
                                   ctx.password))
    lines = c.until_tagged("A1")
    ctx.check(lines and lines[-1].startswith("A1 OK"),
              "LOGIN with literals: %r" % lines)
    lines = c.command("A2", 'LIST "" "*"')
    ctx.check(lines[-1].startswith("A2 OK") and
              any("INBOX" in l for l in lines), "LIST: %r" % lines)
    ctx.check(not any(l.startswith("tr") for l in lines),
              "the relay's own tag reached the device: %r" % lines)
    lines = c.command("A3", "LOGOUT")
    ctx.check(lines[-1].startswith("A3 OK"), "LOGOUT: %r" % lines)


def oversized(ctx):
    """{n} too large: BAD, still in step; a bare CR: BAD; {n+} too large:
    BAD, BYE, end."""
    c = raw(ctx, "imap")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    lines = c.command("B1", "LOGIN {%d}" % TOO_BIG)
    ctx.check(lines[-1].startswith("B1 BAD"), "oversized {n}: %r" % lines)
    lines = c.command("B2", "SELECT INBOX")
    ctx.check(lines[-1].startswith("B2 BAD"), "SELECT before login: %r"
              % lines)
    lines = c.command("B5", "LOGIN a b\rB6 LOGOUT")
    ctx.check(lines[-1].startswith("B5 BAD Bare CR"),
              "a bare CR in the command line: %r" % lines)
    lines = c.command("B3", "NOOP")
    ctx.check(lines[-1].startswith("B3 OK"), "NOOP: %r" % lines)
    c.send("B4 LOGIN {%d+}\r\n%s x\r\n" % (TOO_BIG, "u" * TOO_BIG))
    lines = c.until_tagged("B4")
    ctx.check(lines and lines[-1].startswith("B4 BAD"),
              "oversized {n+}: %r" % lines)
    closed, got = c.wait_closed(10)
    ctx.check(closed and b"* BYE" in got,
              "no BYE and close after an oversized {n+}: %r" % got)
    if ctx.relay.wait_session(10, event="end", result="protocol_error",
                              device="printer-1") is None:
        raise CaseFailure("no end line with result=protocol_error")


def client(ctx):
    literal_login(ctx)
    oversized(ctx)


CASE = Case(
    "LOGIN with {n} and {n+} literals; oversized literals -> BAD",
    client,
    protocols=("imap",),
    devices=[device("printer-1", "127.0.0.1", protocols=("imap",),
                    plaintext_auth=True)],
    debug=True,
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "printer-1"},
)
