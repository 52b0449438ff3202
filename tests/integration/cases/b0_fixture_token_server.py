"""Fixture check: the token server accepts exactly the requests Entra ID
would and answers like it (tokens, AADSTS errors, introspection, modes)."""

import ssl
import uuid

from harness.case import Case
from harness.oauth import app_certificate, oauth_upstreams
from harness.tokenserver import assertion_form, request_token, \
    secret_form, sign_assertion
from harness.util import wait_until


def expect_error(ctx, answer, code, what):
    """A 400 AADSTS answer with every field Entra ID sends."""
    status, body = answer
    ctx.check(status == 400 and isinstance(body, dict),
              "%s: expected 400 JSON, got %s %r" % (what, status, body))
    ctx.check(body["error_description"].startswith("AADSTS%d: " % code) and
              body["error_codes"] == [code] and body.get("trace_id") and
              body.get("correlation_id") and body.get("error"),
              "%s: expected AADSTS%d, got %r" % (what, code, body))
    ctx.check(body["trace_id"] in body["error_description"],
              "%s: trace id not in the description" % what)


def expect_token(ctx, answer, what, expires_in=3599):
    """A 200 Bearer answer; returns the token."""
    status, body = answer
    ctx.check(status == 200 and isinstance(body, dict) and
              body.get("token_type") == "Bearer" and
              body.get("expires_in") == expires_in and
              len(body.get("access_token", "")) > 40,
              "%s: expected a token, got %s %r" % (what, status, body))
    return body["access_token"]


def client(ctx):
    ts = oauth_upstreams(ctx.run).tokens.reset(expires_in=1234)
    ca = ctx.pki.ca
    post = lambda form, **kw: request_token(ts, ca, form, **kw)

    token = expect_token(ctx, post(secret_form(ts)), "secret",
                         expires_in=1234)
    ctx.check(ts.introspect(token)["active"], "issued token not active")
    expect_error(ctx, post(secret_form(ts, "wrong")), 7000215,
                 "wrong secret")
    expect_error(ctx, post(dict(secret_form(ts), client_id=str(
        uuid.uuid4()))), 700016, "unknown client_id")
    expect_error(ctx, post(dict(secret_form(ts), scope="https://graph."
                                "microsoft.com/.default")), 70011,
                 "Graph scope")
    expect_error(ctx, post(dict(secret_form(ts), grant_type="password")),
                 70003, "password grant")
    expect_error(ctx, post(secret_form(ts), path="/other/oauth2/v2.0/token"),
                 90002, "unknown tenant")

    cert, key = app_certificate(ctx.pki)
    ts.register_certificate(cert)
    for alg in ("RS256", "PS256"):
        expect_token(ctx, post(assertion_form(ts, sign_assertion(
            key, cert, ts.client_id, ts.token_url, alg=alg))), alg,
            expires_in=1234)
    jti = str(uuid.uuid4())
    expect_token(ctx, post(assertion_form(ts, sign_assertion(
        key, cert, ts.client_id, ts.token_url, jti=jti))), "jti",
        expires_in=1234)
    expect_error(ctx, post(assertion_form(ts, sign_assertion(
        key, cert, ts.client_id, ts.token_url, jti=jti))), 700025,
        "replayed jti")
    expect_error(ctx, post(assertion_form(ts, sign_assertion(
        ctx.pki.localhost[1], cert, ts.client_id, ts.token_url))), 700027,
        "signed with another key")
    expect_error(ctx, post(assertion_form(ts, sign_assertion(
        key, ctx.pki.localhost[0], ts.client_id, ts.token_url))), 700027,
        "unregistered certificate")
    expect_error(ctx, post(assertion_form(ts, sign_assertion(
        key, cert, ts.client_id, "https://login.example/token"))), 700016,
        "wrong audience")
    expect_error(ctx, post(assertion_form(ts, sign_assertion(
        key, cert, ts.client_id, ts.token_url, now=1700000000))), 700024,
        "expired assertion")
    expect_error(ctx, post(dict(assertion_form(ts, "a.b.c"),
                                client_secret=ts.secret)), 7000218,
                 "secret and assertion")
    ctx.check(ts.count == 15 and len(ts.issued()) == 4,
              "counted %d requests, %d issued" % (ts.count,
                                                  len(ts.issued())))

    ts.revoke(token)
    ctx.check(ts.introspect(token) == {"active": False},
              "revoked token: %r" % ts.introspect(token))
    ctx.check(not ts.introspect("unknown")["active"], "unknown token active")
    other = ts.issued()[1]
    ts.expire(other)
    ctx.check(not ts.introspect(other)["active"], "expired token active")

    ts.mode, ts.fail_key = "aadsts", "secret"
    expect_error(ctx, post(secret_form(ts)), 7000215, "forced AADSTS")
    ts.mode = "error500"
    ctx.check(post(secret_form(ts))[0] == 500, "error500 mode")
    ts.mode = "ok"
    ts.down()
    try:
        post(secret_form(ts), timeout=3)
        ctx.check(False, "token endpoint still answers when down")
    except ConnectionRefusedError:
        pass
    ts.up()
    expect_token(ctx, post(secret_form(ts)), "after up()", expires_in=1234)
    ts.use_certificate(ctx.pki.wrongname)
    try:
        post(secret_form(ts))
        ctx.check(False, "wrongname certificate verified")
    except ssl.SSLCertVerificationError:
        pass
    ctx.check(wait_until(lambda: ts.tls_failures, 5, what="TLS failure"),
              "TLS failure not recorded")
    ts.reset()
    expect_token(ctx, post(secret_form(ts)), "after reset()")


CASE = Case(
    "token server: secret and RS256/PS256 assertions, AADSTS errors, "
    "introspection, modes",
    client,
    upstream=None,
    relay=False,
)
