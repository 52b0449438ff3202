"""An upstream that accepts the connection but never greets: after
limits.upstream_timeout the device's AUTH gets 454 and the relay hangs up
on the upstream."""

from harness.steps import no_auth_sent_upstream
from harness.upstream_faults import auth_unavailable, smtp_fault_case

UPSTREAM_TIMEOUT = 1	# seconds (limits.upstream_timeout)


def client(ctx):
    s = auth_unavailable(ctx, "a silent upstream (upstream_timeout %d s)"
                         % UPSTREAM_TIMEOUT,
                         (UPSTREAM_TIMEOUT - 0.2, UPSTREAM_TIMEOUT + 1.5))
    ctx.check(ctx.fault.wait_event("client left", 5) is not None,
              "the relay did not close the silent upstream connection")
    failed = ctx.relay.wait_session(5, event="login_failed")
    ctx.check(failed is not None, "no event=login_failed line")
    ctx.check(failed.get("result") == "upstream_error" and
              "timed out" in failed.get("reason", ""),
              "login_failed line has result=%s reason=%r"
              % (failed.get("result"), failed.get("reason")))
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    no_auth_sent_upstream(ctx)


def settings(s):
    s["limits"]["upstream_timeout"] = UPSTREAM_TIMEOUT


CASE = smtp_fault_case(
    "silent upstream (no greeting) -> 454 at AUTH after upstream_timeout, "
    "upstream timed out",
    client,
    "silent",
    reason="upstream timed out",
    settings=settings,
)
