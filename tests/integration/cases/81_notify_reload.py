"""SIGHUP under a service manager: RELOADING=1, then READY=1 with a fresh
STATUS=, whether the new configuration is taken or refused."""

from harness import sd
from harness.case import Case
from harness.relay import device

DEVICES = [device("scanner-1", "127.0.0.1"), device("scanner-2", "127.0.0.2")]


def reload(ctx, notify, expect):
    """SIGHUP and return the READY=1 message that follows RELOADING=1."""
    mark = len(notify.poll())
    ctx.relay.reload(expect=expect)
    reloading = notify.wait(since=mark, RELOADING="1")
    ctx.check(reloading is not None, "no RELOADING=1 after SIGHUP")
    ctx.check(int(notify.messages[reloading].get("MONOTONIC_USEC", "0")) > 0,
              "RELOADING=1 without MONOTONIC_USEC")
    ready = notify.wait(since=reloading + 1, READY="1")
    ctx.check(ready is not None, "no READY=1 after RELOADING=1")
    return notify.messages[ready]


def client(ctx):
    notify = sd.NotifySocket(ctx.relay.dir)
    ctx.note("notify messages: see below")
    try:
        sd.start(ctx, env=notify.env())
        ctx.check(notify.wait(READY="1") is not None, "no READY=1 at start")

        ctx.relay.write_devices(DEVICES[:1])
        ready = reload(ctx, notify, "configuration reloaded")
        ctx.check(ready.get("STATUS", "").startswith(
            "sessions: 0, devices: 1,"), "STATUS after the reload: %r"
            % ready.get("STATUS"))

        ctx.relay.write_devices_text("devices = ( { name = 1; } );\n")
        ready = reload(ctx, notify, "configuration reload failed")
        ctx.check(ready.get("STATUS", "").endswith(
            "; last reload failed, previous configuration in force"),
            "STATUS after a refused reload: %r" % ready.get("STATUS"))
        ctx.check(ctx.relay.alive(), "tlsrelayd died on a bad reload")
    finally:
        ctx.note(notify.describe())
        notify.close()


CASE = Case(
    "sd_notify: SIGHUP -> RELOADING=1 then READY=1, also for a bad reload",
    client,
    upstream="counting",
    devices=DEVICES,
    start=False,
)
