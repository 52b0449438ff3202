"""oauth2.secret_expires 2 days in the past: the relay still starts and
logs event=credential_expired credential=oauth2_secret days_left=-2 at
error level, at start and at a reload; tlsrelayd -t shows it EXPIRED and
still says "configuration OK" (exit 0), as for a device past its sunset.
With warn_days 7, the LAN certificate (400 days) is not near its expiry:
it gets an info line event=credential at start and reload, and no
warning."""

from harness.case import Case
from harness.expiry import cert_expires, check_credential_line, \
    check_mode_line, days_left, no_credential_line
from harness.fixtures import tokens
from harness.relay import sunset_in

DAYS = -2


def expired_secret(settings):
    """The secret expired DAYS days ago; warnings from 7 days before."""
    settings["warn_days"] = 7
    settings["oauth2"]["secret_expires"] = sunset_in(DAYS)


def check_lines(ctx, path, date, lan, since=0):
    """The expired secret at error level, the LAN certificate at info."""
    check_credential_line(ctx, "credential_expired", "oauth2_secret", "err",
                          DAYS, date, path, since=since)
    lan_date = cert_expires(lan)
    check_credential_line(ctx, "credential", "lan_certificate", "info",
                          days_left(lan_date), lan_date, lan, since=since)
    no_credential_line(ctx, "credential_expiring", "lan_certificate")


def client(ctx):
    oauth2 = ctx.relay.settings["oauth2"]
    path, date = oauth2["client_secret_file"], oauth2["secret_expires"]
    lan = ctx.relay.settings["lan_tls"]["certificate"]
    ctx.check(days_left(cert_expires(lan)) > 7, "the test LAN certificate "
              "expires within warn_days (7)")
    check_lines(ctx, path, date, lan)
    check_mode_line(ctx, "oauth2_secret", path, date, DAYS)
    mark = len(ctx.relay.lines())
    ctx.relay.reload()
    check_lines(ctx, path, date, lan, since=mark)


CASE = Case(
    "secret_expires 2 days ago: relay starts, credential_expired "
    "days_left=-2 (err) at start and reload; -t EXPIRED, OK",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    settings=expired_secret,
)
