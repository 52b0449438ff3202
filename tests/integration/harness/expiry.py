"""Credential expiry (issue d7): the relay's credential lines and the days
left of a certificate, computed the way the relay does."""

import datetime
import subprocess

from .case import CaseFailure
from .relay import parse_fields, today
from .util import wait_until

LEVELS = {"info": " info: ", "warning": " warning: ", "err": " error: "}


def credential_line(ctx, event, credential, since=0, timeout=5):
    """The first line from index since on with event=<event> and
    credential=<credential>: (fields, raw line); fails the case if none
    comes within timeout."""
    def found():
        for line in ctx.relay.lines()[since:]:
            fields = parse_fields(line, first="event")
            if fields and fields.get("event") == event and \
                    fields.get("credential") == credential:
                return fields, line
        return None
    try:
        return wait_until(found, timeout, what="event=%s credential=%s"
                          % (event, credential))
    except TimeoutError:
        raise CaseFailure("no event=%s credential=%s line within %d s; "
                          "credential lines: %r"
                          % (event, credential, timeout,
                             [l for l in ctx.relay.lines()[since:]
                              if " credential=" in l]))


def check_credential_line(ctx, event, credential, level, days, expires,
                          file, since=0):
    """A credential line with exactly these fields at this level ("info",
    "warning", "err"); returns the line."""
    fields, line = credential_line(ctx, event, credential, since)
    want = {"event": event, "credential": credential, "file": file,
            "expires": expires, "days_left": str(days)}
    ctx.check(fields == want, "credential line %r, expected %r"
              % (fields, want))
    ctx.check(LEVELS[level] in line, "not at %s level: %r" % (level, line))
    return line


def no_credential_line(ctx, event, credential, since=0):
    """There is no line with event=<event> and credential=<credential>."""
    lines = [l for l in ctx.relay.lines()[since:]
             if (parse_fields(l, first="event") or {}).get("event") == event
             and " credential=%s " % credential in l + " "]
    ctx.check(not lines, "unexpected line(s): %r" % lines)


def cert_expires(cert):
    """The local date of a certificate's notAfter, as YYYY-MM-DD."""
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                          "-enddate", "-dateopt", "iso_8601"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=30, check=True).stdout
    stamp = out.strip().split("=", 1)[1]
    utc = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    return utc.astimezone().date().isoformat()


def days_left(date_text):
    """Days from today (local) to a YYYY-MM-DD date."""
    return (datetime.date.fromisoformat(date_text) - today()).days


def check_mode_line(ctx, credential, file, date, days, warn_days=30):
    """tlsrelayd -t: exit 0, "configuration OK", and the credential's line
    (EXPIRED when the date has passed, a warning within warn_days);
    returns the output."""
    status, out = ctx.relay.run_check()
    ctx.note("-t (exit %d):\n%s" % (status, out))
    ctx.check(status == 0 and "configuration OK" in out.splitlines(),
              "-t exited %d: %r" % (status, out))
    left = "EXPIRED, 0" if days < 0 else str(days)
    want = "credential %s (%s): expires %s, %s days left" % (
        credential, file, date, left)
    if 0 <= days <= warn_days:
        want += " (warning: within warn_days %d, renew it)" % warn_days
    ctx.check(want in out.splitlines(), "no line %r in %r" % (want, out))
    return out
