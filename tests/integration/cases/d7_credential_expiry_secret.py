"""oauth2.secret_expires 5 days ahead, warn_days 30: at start a warning
event=credential_expiring credential=oauth2_secret days_left=5, tlsrelayd
-t prints the secret's expiry, and a reload (SIGHUP) logs the warning
again. (The daily repetition runs the same report from a 24 h timer that
a case cannot wait for.)"""

from harness.case import Case
from harness.expiry import check_credential_line, check_mode_line
from harness.fixtures import tokens
from harness.relay import sunset_in

DAYS = 5


def expiring_secret(settings):
    """The secret expires in DAYS days; warnings from 30 days before."""
    settings["warn_days"] = 30
    settings["oauth2"]["secret_expires"] = sunset_in(DAYS)


def client(ctx):
    oauth2 = ctx.relay.settings["oauth2"]
    path, date = oauth2["client_secret_file"], oauth2["secret_expires"]
    check_credential_line(ctx, "credential_expiring", "oauth2_secret",
                          "warning", DAYS, date, path)
    check_mode_line(ctx, "oauth2_secret", path, date, DAYS)
    mark = len(ctx.relay.lines())
    ctx.relay.reload()
    check_credential_line(ctx, "credential_expiring", "oauth2_secret",
                          "warning", DAYS, date, path, since=mark)


CASE = Case(
    "secret_expires in 5 days: credential_expiring days_left=5 (warning) "
    "at start and reload; -t prints it",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    settings=expiring_secret,
)
