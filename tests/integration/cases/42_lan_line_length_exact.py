"""limits.line_length counts the whole line with its CRLF: a line of
exactly line_length bytes is a command, one byte more is too long."""

from harness.case import Case
from harness.relay import device
from harness.steps import raw_smtp_ehlo

LINE_LENGTH = 512


def noop_line(total):
    """A NOOP command line of total bytes including its CRLF."""
    return "NOOP " + "x" * (total - len("NOOP \r\n")) + "\r\n"


def client(ctx):
    c = raw_smtp_ehlo(ctx)
    c.send(noop_line(LINE_LENGTH))
    code, lines = c.reply()
    ctx.check(code == 250, "a %d-byte line (the limit, CRLF included) got "
              "%r, expected 250" % (LINE_LENGTH, lines))
    c.send(noop_line(LINE_LENGTH + 1))
    code, lines = c.reply()
    ctx.check(lines == ["500 5.5.2 Line too long"],
              "a %d-byte line (one over the limit, CRLF included) got %r, "
              "expected '500 5.5.2 Line too long' (tlsrelayd.conf(5): "
              "line_length is 'the longest protocol line accepted, in bytes "
              "including CRLF')" % (LINE_LENGTH + 1, lines))
    closed, rest = c.wait_closed(5)
    ctx.check(closed, "connection still open after the 500")


def settings(s):
    s["limits"]["line_length"] = LINE_LENGTH


CASE = Case(
    "line_length boundary: 512 bytes with CRLF accepted, 513 -> 500 5.5.2",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    settings=settings,
    upstream_connections=0,
    log={"event": "end", "result": "line_too_long", "device": "scanner-1"},
)
