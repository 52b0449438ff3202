"""The exit register's census: an unknown client that knocks on the
implicit-TLS listener offering at most TLS 1.1 is refused before any
upstream contact and appears in tlsrelayctl unknown with that version."""

import smtplib
import ssl

from harness.case import Case
from harness.register import wait_census
from harness.relay import device
from harness.steps import refused_greeting


def client(ctx):
    for _ in range(2):
        try:
            ctx.smtp("smtps", source="127.0.0.2",
                     tls_version=ssl.TLSVersion.TLSv1_1)
        except (smtplib.SMTPException, OSError):
            pass	# the 554 greeting: smtplib gives up
    refused_greeting(ctx, source="127.0.0.3")
    want = ("127.0.0.2 listener=smtps protocol=smtp offered_tls=TLSv1.1 ",
            "127.0.0.3 listener=smtp protocol=smtp offered_tls=none ")
    out = wait_census(ctx, want)
    ctx.check("count=2" in out.split("127.0.0.2 ")[1].split("\n")[0],
              "127.0.0.2 knocked twice: %s" % out)


CASE = Case(
    "register: unknown clients in the census with the TLS they offered",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=0,
)
