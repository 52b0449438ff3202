"""Fixture check: Postfix offers no AUTH and refuses AUTH before STARTTLS."""

from harness.case import Case
from harness.clients import auth_plain, close_quietly, smtp_connect


def client(ctx):
    s, greeting = smtp_connect(ctx.postfix.port)
    try:
        ctx.expect_code(greeting, 220, "postfix greeting")
        ctx.expect_code(s.ehlo("fixture.test"), 250, "EHLO")
        ctx.check("auth" not in s.esmtp_features,
                  "postfix advertises AUTH in the clear")
        ctx.check("starttls" in s.esmtp_features,
                  "postfix does not offer STARTTLS")
        ctx.expect_code(auth_plain(s, ctx.user, ctx.password), 530,
                        "plaintext AUTH")
    finally:
        close_quietly(s)


CASE = Case("Postfix submission requires STARTTLS before AUTH (no relay)",
            client, upstream=None, relay=False)
