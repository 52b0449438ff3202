"""tlsrelayctl expiring, the monitoring-plugin convention: 0 when no
sunset is within --days, 1 when one is, 2 when a device past its sunset
still tries to connect (its refused session is in the register)."""

import datetime

from harness.case import Case
from harness.register import ctl
from harness.relay import device, sunset_in
from harness.steps import refused_greeting
from harness.util import wait_until


def client(ctx):
    status, out, _ = ctl(ctx, "expiring", "--days", "30")
    ctx.check(status == 0 and out.startswith("OK:"),
              "nothing within 30 days: exit %d %r" % (status, out))
    status, out, _ = ctl(ctx, "expiring", "--days", "60")
    ctx.check(status == 1 and out.startswith("EXPIRING: scanner-1 "),
              "scanner-1 within 60 days: exit %d %r" % (status, out))
    yesterday = (datetime.date.today() -
                 datetime.timedelta(days=1)).isoformat()
    ctx.relay.reload(devices=ctx.relay.devices + [
        device("old-copier", "127.0.0.3", sunset=yesterday)])
    status, out, _ = ctl(ctx, "expiring", "--days", "30")
    ctx.check(status == 1 and "EXPIRED: old-copier " in out,
              "expired, not connecting: exit %d %r" % (status, out))
    refused_greeting(ctx, source="127.0.0.3")
    try:
        wait_until(lambda: ctl(ctx, "expiring", "--days", "30")[0] == 2,
                   15, interval=0.3, what="exit 2")
    except TimeoutError:
        ctx.check(False, "expiring never exited 2 after old-copier "
                  "connected past its sunset")
    out = ctl(ctx, "expiring", "--days", "30")[1]
    ctx.check("EXPIRED, STILL CONNECTING: old-copier " in out, repr(out))
    ctx.check(ctl(ctx, "expiring", "--days", "x")[0] == 2,
              "a bad --days is not a usage error")


CASE = Case(
    "register: tlsrelayctl expiring exits 0, 1, then 2 for a device "
    "connecting past its sunset",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", sunset=sunset_in(50))],
)
