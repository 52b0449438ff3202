"""SIGTERM under a service manager: STOPPING=1 with a STATUS= that counts
the sessions still to finish; exit 0 once they have."""

import signal

from harness import sd
from harness.case import Case
from harness.relay import device


def client(ctx):
    notify = sd.NotifySocket(ctx.relay.dir)
    try:
        sd.start(ctx, env=notify.env())
        ctx.check(notify.wait(READY="1") is not None, "no READY=1")
        s, greeting = ctx.smtp("smtp")
        ctx.expect_code(greeting, 220, "greeting")
        ctx.relay.wait_session(event="start")

        ctx.relay.signal(signal.SIGTERM)
        stopping = notify.wait(STOPPING="1")
        ctx.check(stopping is not None, "no STOPPING=1 after SIGTERM")
        status = notify.messages[stopping].get("STATUS")
        ctx.check(status == "stopping, sessions to finish: 1",
                  "STATUS with STOPPING=1: %r" % status)
        ctx.expect_code(s.docmd("QUIT"), 221, "QUIT while draining")
        ctx.check(ctx.relay.wait_exit(10) == 0,
                  "tlsrelayd did not exit 0 once the session ended (%r)"
                  % ctx.relay.exit_status)
        ctx.check(notify.count(READY="1") == 1, "READY=1 sent again")
    finally:
        ctx.note("notify messages:\n" + notify.describe())
        notify.close()


CASE = Case(
    "sd_notify: SIGTERM -> STOPPING=1 with the sessions left; exit 0",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    listeners=("smtp",),
    start=False,
)
