"""The token endpoint answers 200 with a body that is not JSON: a
temporary failure for the device and event=token_failed, and nothing of
the answer is taken for a token."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, wait_token_line
from harness.steps import smtp_login


def client(ctx):
    ctx.tokens.mode = "garbage"
    s, reply = smtp_login(ctx)
    ctx.expect_code(reply, 454, "AUTH with a garbage token answer")
    wait_token_line(ctx, "token_failed", contains=("http_status=200",))
    ctx.check(ctx.oauth.tokens.introspections == [], "the relay sent "
              "something upstream as a token")


CASE = Case(
    "token endpoint answers 200 with garbage -> 454, event=token_failed, "
    "nothing sent upstream as a token",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth")],
    delivered=False,
)
