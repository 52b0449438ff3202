"""A device without plaintext_auth: no AUTH before STARTTLS."""

from harness.case import Case
from harness.relay import device
from harness.steps import ctx_auth_plain


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    caps = ctx.ehlo(s)
    ctx.check("auth" not in caps, "AUTH advertised before STARTTLS: %s"
              % s.esmtp_features.get("auth"))
    ctx.check("starttls" in caps, "STARTTLS not advertised")
    ctx.expect_code(ctx_auth_plain(ctx, s), (530, 538),
                    "AUTH PLAIN before STARTTLS")


CASE = Case(
    "no plaintext_auth: AUTH not offered and refused before STARTTLS",
    client,
    upstream="counting",
    devices=[device("copier-2", "127.0.0.1")],
    upstream_connections=0,
)
