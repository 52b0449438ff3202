"""prelogin_timeout and idle_timeout end a silent device's session with
-ERR and result=timeout; the upstream session is closed too."""

import time

from harness.case import Case
from harness.pop3 import raw, session_end
from harness.relay import device


def short_timeouts(settings):
    settings["limits"].update(prelogin_timeout=1, idle_timeout=1)


def client(ctx):
    c, _ = raw(ctx, "pop3")
    t0 = time.monotonic()
    reply = c.line()
    ctx.check(reply == "-ERR Disconnected for inactivity",
              "before login: %r" % reply)
    ctx.check(time.monotonic() - t0 < 3, "prelogin timeout took too long")
    ctx.check(c.wait_closed(5)[0], "open after the prelogin timeout")
    session_end(ctx, result="timeout", reason="device did not log in in time")
    c, _ = raw(ctx, "pop3")
    ctx.check(c.cmd("USER %s" % ctx.user).startswith("+OK"), "USER")
    ctx.check(c.cmd("PASS %s" % ctx.password).startswith("+OK"), "PASS")
    reply = c.line()
    ctx.check(reply == "-ERR Disconnected for inactivity",
              "after login: %r" % reply)
    ctx.check(c.wait_closed(5)[0], "open after the idle timeout")
    session_end(ctx, result="timeout", reason="device idle too long")


CASE = Case(
    "silent device before and after login -> -ERR, result=timeout",
    client,
    protocols=("pop3",),
    devices=[device("ups-1", "127.0.0.1", protocols=["pop3"],
                    plaintext_auth=True)],
    settings=short_timeouts,
)
