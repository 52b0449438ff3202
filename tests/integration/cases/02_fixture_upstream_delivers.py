"""Fixture check: TLS 1.2 + AUTH straight to Postfix delivers to the maildir;
a wrong password gets 535."""

import ssl

from harness.case import Case
from harness.clients import (auth_plain, close_quietly, modern_context,
                             send_message, smtp_connect)


def client(ctx):
    s, greeting = smtp_connect(ctx.postfix.port, host="localhost")
    try:
        ctx.expect_code(greeting, 220, "postfix greeting")
        s.ehlo("fixture.test")
        tls = modern_context(ctx.pki.ca)
        tls.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.expect_code(s.starttls(context=tls), 220, "STARTTLS")
        ctx.check(s.sock.version() == "TLSv1.2", "not TLS 1.2")
        s.ehlo("fixture.test")
        ctx.expect_code(auth_plain(s, ctx.user, "wrong"), 535,
                        "wrong password")
        ctx.expect_code(auth_plain(s, ctx.user, ctx.password), 235,
                        "AUTH PLAIN")
        send_message(s, ctx.msgid)
    finally:
        close_quietly(s)


CASE = Case("Postfix delivers TLS 1.2 + SASL submissions (no relay)", client,
            upstream=None, relay=False, delivered=True)
