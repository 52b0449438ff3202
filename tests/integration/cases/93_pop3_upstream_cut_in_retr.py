"""The upstream closes in the middle of RETR: the device never gets the
end marker, the connection closes, result=upstream_error, messages=0."""

from harness.case import Case
from harness.pop3 import raw
from harness.relay import device


def client(ctx):
    c, greeting = raw(ctx, "pop3s", tls=True)
    ctx.check(c.cmd("USER %s" % ctx.user).startswith("+OK"), "USER")
    ctx.check(c.cmd("PASS %s" % ctx.password).startswith("+OK"), "PASS")
    c.send("RETR 1\r\n")
    lines = []
    while True:
        line = c.line()
        if line is None:
            break
        ctx.check(line != ".", "the device got an end marker after %d "
                  "lines of a cut message" % len(lines))
        lines.append(line)
    # The relay ends the session at once: what it had not yet written to
    # the device (maybe even the +OK) is dropped, never completed.
    ctx.check(not lines or lines[0].startswith("+OK"), "RETR 1: %r"
              % lines[:1])
    ctx.check(len(lines) < 150, "got %d lines of a cut message"
              % len(lines))


CASE = Case(
    "upstream closes mid-RETR -> no end marker, connection closed",
    client,
    protocols=("pop3",),
    upstream="cut",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "upstream_error", "messages": "0"},
)
