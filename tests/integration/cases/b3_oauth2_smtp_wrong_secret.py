"""oauth2 device with a wrong secret, or the right secret under another
user name: refused by the relay itself after a delay, no token request,
no upstream connection."""

import time

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import DEVICE_SECRET, WRONG_SECRET, oauth_device
from harness.steps import smtp_login


def refused(ctx, what, **login):
    """One login that must get 535 after about 2 s, and no message."""
    started = time.monotonic()
    s, reply = smtp_login(ctx, "smtps", **login)
    took = time.monotonic() - started
    ctx.expect_code(reply, 535, what)
    ctx.check(1.5 <= took <= 6, "%s: the refusal took %.1f s, expected "
              "about 2 s" % (what, took))
    try:
        ctx.send(s)
    except Exception:
        pass
    else:
        ctx.check(False, "%s: message accepted after a failed AUTH" % what)


def client(ctx):
    refused(ctx, "AUTH PLAIN with a wrong device secret",
            secret=WRONG_SECRET)
    refused(ctx, "AUTH PLAIN as another user with the device secret",
            user="admin@example.test", secret=DEVICE_SECRET)


CASE = Case(
    "oauth2 device, wrong secret or wrong user -> 535 after ~2 s, no token "
    "request, no upstream connection",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    devices=[oauth_device("mfp-oauth")],
    delivered=False,
    upstream_connections=0,
    log={"event": "end", "result": "auth_failed", "messages": "0",
         "device": "mfp-oauth", "protocol": "smtp"},
)
