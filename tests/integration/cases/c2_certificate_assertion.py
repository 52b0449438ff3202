"""The app authenticates with a certificate: the relay signs a client
assertion JWT, the token server verifies it (signature against the
registered certificate, x5t#S256, aud, iss, sub, jti, lifetime) and the
message is delivered."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device
from harness.steps import smtp_send


def client(ctx):
    smtp_send(ctx, "smtps")
    req = ctx.tokens.token_requests()[0]
    ctx.check(req.credential == "assertion" and req.jwt is not None,
              "token request: %s" % req.describe())
    ctx.check("client_secret" not in req.form, "a client_secret was sent "
              "along with the assertion")
    header, claims = req.jwt
    ctx.note("assertion header %r claims %r" % (header, claims))
    ctx.check(header.get("alg") in ("RS256", "PS256") and
              header.get("typ") == "JWT",
              "assertion header: %r" % header)
    ctx.check(0 < claims["exp"] - claims.get("nbf", claims["exp"]) <= 3600,
              "assertion lifetime: %r" % claims)


CASE = Case(
    "certificate credential: RS256 client assertion verified by the token "
    "server -> XOAUTH2 -> delivered",
    client,
    upstream="oauth",
    fixtures=[tokens(credential="certificate", token_requests=1)],
    devices=[oauth_device("mfp-oauth")],
    delivered=True,
    upstream_connections=1,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "mfp-oauth"},
)
