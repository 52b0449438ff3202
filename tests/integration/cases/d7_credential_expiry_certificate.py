"""An oauth2 certificate credential from the test CA valid for 10 more
days, warn_days 30: at start a warning event=credential_expiring
credential=oauth2_certificate whose expires and days_left are the local
date of the certificate's notAfter and the days until it; tlsrelayd -t
prints the same."""

from harness.case import Case
from harness.expiry import cert_expires, check_credential_line, \
    check_mode_line, days_left
from harness.fixtures import tokens

DAYS = 10


def client(ctx):
    cert, key = ctx.pki.client_certificate("oauth2-app-10d",
                                           "tlsrelay test app 10d", san="",
                                           days=DAYS)
    ctx.tokens.register_certificate(cert)
    ctx.relay.settings["warn_days"] = 30
    ctx.relay.settings["oauth2"].update(certificate=cert, key=key)
    date = cert_expires(cert)
    days = days_left(date)
    ctx.check(days in (DAYS - 1, DAYS), "the test certificate has %d days "
              "left, expected %d or %d" % (days, DAYS - 1, DAYS))
    ctx.relay.start()
    check_credential_line(ctx, "credential_expiring", "oauth2_certificate",
                          "warning", days, date, cert)
    check_mode_line(ctx, "oauth2_certificate", cert, date, days)


CASE = Case(
    "oauth2 certificate valid 10 more days: credential_expiring with the "
    "days to its notAfter (warning); -t prints it",
    client,
    upstream="oauth",
    fixtures=[tokens(credential="certificate", token_requests=0)],
    start=False,
)
