"""Owner notices, a failed send: the MX stand-in refuses the owner's
address; the relay logs notice_failed with the reply, records the attempt,
and after a restart the same day does not try again (it retries the next
day); tlsrelayctl notify --dry-run still shows the notice as due."""

from harness.case import Case
from harness.fixtures import mx
from harness.mx import SENDER
from harness.register import ctl
from harness.relay import device, sunset_in

DEVICE = device("copier", "127.0.0.2", sunset=sunset_in(7),
                owner="someone@elsewhere.invalid")


def client(ctx):
    failed = ctx.relay.wait_event(event="notice_failed", device="copier",
                                  timeout=30)
    ctx.check(failed and failed.get("threshold") == "7" and
              failed.get("retry") == "tomorrow" and
              failed.get("reason", "").startswith("rcpt refused: 5"),
              "want a notice_failed line for the refused RCPT: %r" % failed)
    ctx.relay.stop()
    ctx.relay.start()
    ctx.check(ctx.relay.wait_event(event="notices_run", due="0", timeout=30),
              "after a restart the same day the relay tried again")
    status, out, err = ctl(ctx, "notify", "--dry-run")
    ctx.check(status == 0 and "# copier: notice 7 to someone@" in out,
              "dry-run should still show the unsent notice: %r" % out)


def settings(s):
    s["notices"] = {"from": SENDER, "route": "connector"}


CASE = Case(
    "owner notices, failed send: logged with the reply, not retried the "
    "same day (also across a restart), still due in dry-run",
    client,
    upstream="counting",
    fixtures=[mx()],
    upstream_connections=0,
    devices=[DEVICE],
    settings=settings,
)
