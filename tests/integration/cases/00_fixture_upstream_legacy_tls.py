"""Fixture check: the Postfix upstream refuses TLS 1.0 and 1.1."""

import ssl

from harness.case import Case
from harness.clients import close_quietly, legacy_context, smtp_connect


def client(ctx):
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        s, greeting = smtp_connect(ctx.postfix.port)
        ctx.expect_code(greeting, 220, "postfix greeting")
        s.ehlo("fixture.test")
        try:
            s.starttls(context=legacy_context(version))
        except (ssl.SSLError, OSError):
            close_quietly(s)
            continue
        close_quietly(s)
        ctx.check(False, "postfix accepted %s" % version.name)


CASE = Case("Postfix submission refuses TLS 1.0/1.1 (no relay)", client,
            upstream=None, relay=False)
