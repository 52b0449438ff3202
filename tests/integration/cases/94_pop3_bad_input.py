"""Bad input before and after login: syntax errors name the usage, a NUL
byte, a bare CR or a number out of range is refused, an over-long line ends the
session, and so do too many bad commands."""

from harness.case import Case
from harness.pop3 import raw, session_end
from harness.relay import device


def client(ctx):
    c, _ = raw(ctx, "pop3")
    reply = c.cmd("X" * 3000)
    ctx.check(reply == "-ERR Line too long", "over-long line: %r" % reply)
    closed, _ = c.wait_closed(10)
    ctx.check(closed, "connection open after an over-long line")
    session_end(ctx, result="line_too_long")
    c, _ = raw(ctx, "pop3")
    ctx.check(c.cmd("USER").startswith("-ERR Syntax: USER name"), "USER")
    ctx.check(c.cmd("USER " + "u" * 300) == "-ERR Argument too long",
              "long USER")
    ctx.check(c.cmd("USER %s" % ctx.user).startswith("+OK"), "USER")
    ctx.check(c.cmd("PASS %s" % ctx.password).startswith("+OK"), "PASS")
    for command, want in (
            ("RETR", "-ERR Syntax: RETR msg"),
            ("RETR 0", "-ERR Syntax: RETR msg"),
            ("RETR x1", "-ERR Syntax: RETR msg"),
            ("RETR 1\rDELE 1", "-ERR Bare CR in command line"),
            ("TOP 1", "-ERR Syntax: TOP msg lines"),
            ("LIST 99999999999", "-ERR Syntax: LIST [msg]"),
            ("STAT\0 1", "-ERR Syntax: STAT"),
            ("RETR 9", "-ERR "),			# Dovecot's answer
            ("retr 1", "+OK")):
        reply = c.cmd(command)
        ctx.check(reply.startswith(want), "%r: %r" % (command, reply))
    c.multi()
    ctx.check(c.cmd("STAT").startswith("+OK 3 "), "STAT")
    # Nine bad commands so far (the upstream's -ERR does not count).
    ctx.check(c.cmd("FOO") == "-ERR Too many bad commands, closing "
              "connection", "tenth bad command")
    closed, _ = c.wait_closed(10)
    ctx.check(closed, "connection open after too many bad commands")


CASE = Case(
    "line too long, syntax errors, NUL byte, too many errors -> closed",
    client,
    protocols=("pop3",),
    devices=[device("ups-1", "127.0.0.1", protocols=["pop3"],
                    plaintext_auth=True)],
    log={"event": "end", "result": "protocol_error", "messages": "1",
         "user": "scanner@example.test"},
)
