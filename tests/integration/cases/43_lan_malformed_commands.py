"""Malformed input before login gets the right reply codes, each counts as
an error, and the tenth bad command ends the session with 421 4.7.0."""

from harness.case import Case
from harness.clients import b64
from harness.relay import device

MAX_ERRORS = 10		# smtp_session.c: SMTP_MAX_ERRORS


def expect(ctx, c, command, code, prefix, what):
    """Send one line; the reply must be a single line starting with
    prefix."""
    c.send(command + "\r\n")
    got, lines = c.reply()
    ctx.check(got == code and len(lines) == 1 and
              lines[0].startswith(prefix),
              "%s: expected '%s...', got %r" % (what, prefix, lines))


def client(ctx):
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    bad = [
        ("AUTH PLAIN " + b64("\0u\0p"), 503, "503 5.5.1 ",
         "AUTH before EHLO"),
    ]
    for command, code, prefix, what in bad:
        expect(ctx, c, command, code, prefix, what)
    c.send("EHLO scanner.lan\r\n")
    code, lines = c.reply()
    ctx.check(code == 250, "EHLO reply %r" % lines)
    ctx.check("250-AUTH PLAIN LOGIN" in lines, "AUTH not offered: %r"
              % lines)
    errors = [
        ("MAIL FROM:<scanner@example.test>", 530, "530 5.7.0 ",
         "MAIL before AUTH"),
        ("XYZZY", 500, "500 5.5.2 ", "unknown command"),
        ("AUTH PLAIN !!not*base64!!", 501, "501 5.5.2 ",
         "AUTH PLAIN with invalid base64"),
        ("AUTH PLAIN " + b64("no-nul-separators"), 501, "501 5.5.2 ",
         "AUTH PLAIN without NUL separators"),
    ]
    for command, code, prefix, what in errors:
        expect(ctx, c, command, code, prefix, what)
    expect(ctx, c, "AUTH LOGIN", 334, "334 ", "AUTH LOGIN")
    expect(ctx, c, "*", 501, "501 ", "AUTH LOGIN cancelled with *")
    expect(ctx, c, "NOOP", 250, "250 ", "NOOP after the cancelled AUTH")
    counted = len(bad) + len(errors) + 1
    for i in range(counted + 1, MAX_ERRORS):
        expect(ctx, c, "BOGUS%d" % i, 500, "500 5.5.2 ",
               "bad command #%d" % i)
    c.send("BOGUS%d\r\n" % MAX_ERRORS)
    code, lines = c.reply()
    ctx.check(code == 421 and len(lines) == 1 and
              lines[0].startswith("421 4.7.0 ") and
              "Too many errors" in lines[0],
              "bad command #%d: expected '421 4.7.0 ... Too many errors', "
              "got %r" % (MAX_ERRORS, lines))
    closed, rest = c.wait_closed(5)
    ctx.check(closed, "connection still open after the 421")


CASE = Case(
    "bad commands -> 503/530/500/501, AUTH '*' -> 501, the 10th -> 421 "
    "4.7.0, result=protocol_error",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=0,
    log={"event": "end", "result": "protocol_error", "device": "scanner-1",
         "reason": "too many bad commands"},
)
