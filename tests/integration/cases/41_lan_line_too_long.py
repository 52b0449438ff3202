"""A command line over limits.line_length: 500 5.5.2, then the relay hangs
up, whether the long line has ended or is still arriving."""

from harness.case import Case
from harness.relay import device
from harness.steps import raw_smtp_ehlo

LINE_LENGTH = 512


def too_long(ctx, data, what):
    """Greeting, EHLO, then data: expect exactly "500 5.5.2 Line too long"
    and a closed connection."""
    c = raw_smtp_ehlo(ctx)
    c.send(data)
    code, lines = c.reply()
    ctx.check(lines == ["500 5.5.2 Line too long"],
              "%s: expected '500 5.5.2 Line too long', got %r"
              % (what, lines))
    closed, rest = c.wait_closed(5)
    ctx.check(closed, "%s: connection still open after the 500" % what)
    ctx.check(rest == b"", "%s: more bytes after the 500: %r" % (what, rest))


def client(ctx):
    too_long(ctx, "NOOP " + "x" * 600 + "\r\n", "600-byte NOOP line")
    too_long(ctx, "NOOP " + "x" * 1000, "1000 bytes without a line end")
    ended = ctx.relay.wait_sessions(2, 5, event="end")
    ctx.check(len(ended) == 2 and
              all(f.get("result") == "line_too_long" for f in ended),
              "expected two end lines with result=line_too_long, got %r"
              % [(f.get("result"), f.get("reason")) for f in ended])


def settings(s):
    s["limits"]["line_length"] = LINE_LENGTH


CASE = Case(
    "line over line_length -> 500 5.5.2 Line too long, closed, "
    "result=line_too_long",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    settings=settings,
    upstream_connections=0,
    log={"event": "end", "result": "line_too_long", "device": "scanner-1",
         "reason": "device sent a line over the length limit"},
)
