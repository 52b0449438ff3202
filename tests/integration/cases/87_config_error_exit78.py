"""A configuration error at start: exit status 78, which the unit's
RestartPreventExitStatus= names, and no READY=1."""

from harness import sd
from harness.case import Case
from harness.relay import device


def client(ctx):
    notify = sd.NotifySocket(ctx.relay.dir)
    try:
        ctx.relay.write_devices_text("devices = ( { name = 1; } );\n")
        status = sd.run_to_exit(ctx, env=notify.env())
        ctx.check(status == 78, "exit status %r, expected 78" % status)
        ctx.check(notify.count(READY="1") == 0,
                  "READY=1 sent with a broken configuration")
        ctx.relay.wait_line(lambda l: "tlsrelayd not started: fix the "
                            "configuration" in l, what="not-started line")
    finally:
        notify.close()


CASE = Case(
    "configuration error at start -> exit 78, no READY=1",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    start=False,
)
