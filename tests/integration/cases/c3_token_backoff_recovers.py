"""The token endpoint answers 500: temporary failures and no request
during the 5 s backoff; a second failure doubles it to 10 s; once that
has passed a login gets a token."""

import time

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, wait_token_line
from harness.steps import smtp_login, smtp_send


def failed_login(ctx, want_count, what):
    """A login that must get 454 with want_count token requests so far."""
    s, reply = smtp_login(ctx)
    ctx.check(reply[0] == 454 and ctx.tokens.count == want_count,
              "%s: AUTH %r with %d token requests (expected 454 and %d)"
              % (what, reply, ctx.tokens.count, want_count))


def sleep_until(when):
    """Sleep until time.monotonic() reaches when."""
    time.sleep(max(when - time.monotonic(), 0))


def client(ctx):
    ts = ctx.tokens
    ts.mode = "error500"
    failed_login(ctx, 1, "token endpoint answers 500")
    first = ts.token_requests()[0].when
    wait_token_line(ctx, "token_failed", contains=("retry_in=5",))
    while time.monotonic() < first + 3.5:
        failed_login(ctx, 1, "%.1f s into the 5 s backoff"
                     % (time.monotonic() - first))
        time.sleep(0.5)
    sleep_until(first + 6)
    failed_login(ctx, 2, "after the first backoff, still 500")
    second = ts.token_requests()[1].when
    wait_token_line(ctx, "token_failed", contains=("retry_in=10",))
    ts.mode = "ok"
    sleep_until(second + 6.5)
    failed_login(ctx, 2, "6.5 s into the doubled backoff")
    sleep_until(second + 11)
    smtp_send(ctx, "smtps")


CASE = Case(
    "token endpoint 500 -> 454 4.7.0, no request during the 5 s backoff, "
    "then 10 s after a second failure, then a token and delivery",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=3)],
    devices=[oauth_device("mfp-oauth")],
    delivered=True,
)
