"""The token endpoint presents a certificate for another name: the relay
must not send its secret there (no HTTP request arrives) and devices get a
temporary failure."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, wait_token_line
from harness.steps import smtp_login
from harness.util import wait_until


def client(ctx):
    ctx.tokens.use_certificate(ctx.pki.wrongname)
    s, reply = smtp_login(ctx)
    ctx.expect_code(reply, 454, "AUTH, token endpoint with a wrong name")
    wait_token_line(ctx, "token_failed")
    # The server's thread notes the failed handshake after the relay has
    # already given up and logged it: wait for the note.
    try:
        wait_until(lambda: ctx.tokens.tls_failures, 10, what="the token "
                   "server's note of the failed TLS handshake")
    except TimeoutError:
        ctx.check(False, "the relay did not even try TLS")


CASE = Case(
    "token endpoint certificate for wrong.example -> 454, no token request "
    "(secret not sent), event=token_failed",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    devices=[oauth_device("mfp-oauth")],
    delivered=False,
)
