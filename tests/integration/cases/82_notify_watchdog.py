"""With WATCHDOG_USEC set, the event loop sends WATCHDOG=1 every half
period, so that systemd restarts a daemon whose loop is stuck."""

import signal
import time

from harness import sd
from harness.case import Case
from harness.relay import device

PERIOD_USEC = 600000	# pings every 0.3 s


def client(ctx):
    notify = sd.NotifySocket(ctx.relay.dir)
    try:
        sd.start(ctx, env=dict(notify.env(), WATCHDOG_USEC=str(PERIOD_USEC)))
        ctx.check(notify.wait(READY="1") is not None, "no READY=1")
        mark = len(notify.poll())
        time.sleep(2.0)
        pings = notify.count(since=mark, WATCHDOG="1")
        ctx.note("WATCHDOG=1 in 2 s: %d" % pings)
        ctx.check(4 <= pings <= 8, "expected about 6 WATCHDOG=1 in 2 s at "
                  "a 0.6 s period, got %d" % pings)

        ctx.relay.signal(signal.SIGSTOP)	# a stuck loop: no pings
        mark = len(notify.poll())
        time.sleep(1.0)
        stuck = notify.count(since=mark, WATCHDOG="1")
        ctx.relay.signal(signal.SIGCONT)
        ctx.check(stuck <= 1, "%d WATCHDOG=1 from a stopped process" % stuck)
        ctx.check(notify.wait(since=len(notify.poll()), WATCHDOG="1")
                  is not None, "no WATCHDOG=1 after SIGCONT")
    finally:
        notify.close()


CASE = Case(
    "sd_notify: WATCHDOG=1 every WATCHDOG_USEC/2, none while the loop stops",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    start=False,
)
