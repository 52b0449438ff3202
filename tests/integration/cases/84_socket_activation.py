"""Socket activation: a socket systemd passes under a listener's name is
that listener's, even across a reload; other listeners bind their own, and
a passed socket that names no listener is closed with a warning."""

from harness import sd
from harness.case import Case
from harness.relay import device
from harness.util import free_port, listening_ports, wait_listening


def greeting(ctx, listener):
    """Connect to a listener's port and return the first reply code."""
    code, lines = ctx.raw(listener).reply(10)
    ctx.note("greeting on %s: %r" % (listener, lines))
    return code


def client(ctx):
    passed, stray = free_port(), free_port()
    ctx.listener_ports["passed"] = passed
    notify = sd.NotifySocket(ctx.relay.dir)
    try:
        sd.start(ctx, ports=[], wrapper=sd.socket_activate(
            ["127.0.0.1:%d" % passed, "127.0.0.1:%d" % stray],
            ["smtp", "stray"], env=notify.env()))
        wait_listening([passed, stray], 10, ctx.relay.alive,
                       "systemd-socket-activate")
        # The first connection starts the daemon, which must serve it.
        ctx.check(greeting(ctx, "passed") == 220, "no 220 on the passed socket")
        ctx.check(notify.wait(READY="1") is not None, "no READY=1")
        ctx.relay.wait_line(lambda l: "listener smtp: smtp on 127.0.0.1 "
                            "port %d (plain), socket from systemd" % passed
                            in l, what="passed-socket listener line")
        ctx.relay.wait_line(lambda l: "socket 'stray' from systemd (fd 4) "
                            "is not the name of a listener; closed" in l,
                            what="stray-socket warning")
        wait_listening([ctx.port("smtps")], 10, ctx.relay.alive, "smtps")
        ctx.check(ctx.port("smtp") not in listening_ports(),
                  "the smtp listener bound its configured port as well")

        ctx.relay.reload()
        ctx.check(greeting(ctx, "passed") == 220,
                  "no 220 on the passed socket after a reload")
        ctx.check(ctx.port("smtp") not in listening_ports(),
                  "the reload bound the configured smtp port")
    finally:
        notify.close()


CASE = Case(
    "socket activation: named socket -> its listener, stray one closed",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    needs=("systemd-socket-activate",),
    start=False,
)
