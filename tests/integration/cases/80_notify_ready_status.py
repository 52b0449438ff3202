"""Under a service manager: READY=1 once listening, with a STATUS= line
that counts sessions, devices, and devices expiring or expired."""

from harness import sd
from harness.case import Case
from harness.relay import device, sunset_in

STATUS_REFRESH = 12	# seconds: the daemon refreshes STATUS= every 5


def client(ctx):
    notify = sd.NotifySocket(ctx.relay.dir)
    try:
        sd.start(ctx, env=notify.env())
        ready = notify.wait(READY="1")
        ctx.note("notify messages:\n" + notify.describe())
        ctx.check(ready is not None, "no READY=1 from tlsrelayd")
        status = notify.messages[ready].get("STATUS")
        ctx.check(status == "sessions: 0, devices: 3, expiring within 30 "
                  "days: 1, expired: 1", "STATUS at READY: %r" % status)
        ctx.check(ctx.relay.alive(), "tlsrelayd exited after READY=1")

        s, greeting = ctx.smtp("smtp")
        ctx.expect_code(greeting, 220, "greeting")
        busy = notify.wait(STATUS_REFRESH, since=ready + 1,
                           STATUS="sessions: 1, devices: 3, expiring within"
                           " 30 days: 1, expired: 1")
        ctx.check(busy is not None, "STATUS never showed the open session")
        ctx.check(notify.count(WATCHDOG="1") == 0,
                  "WATCHDOG=1 sent although WATCHDOG_USEC is not set")
    finally:
        notify.close()


CASE = Case(
    "sd_notify: READY=1 with STATUS= (sessions, devices, expiring, expired)",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True),
             device("copier-2f", "127.0.0.2", sunset=sunset_in(10)),
             device("old-fax", "127.0.0.3", sunset=sunset_in(-3))],
    start=False,
)
