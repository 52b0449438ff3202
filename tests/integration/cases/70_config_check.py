"""tlsrelayd -t: "configuration OK" and one line per device with its days
left; a bad devices file or a LAN key that does not match the certificate
is reported with the file (and line) and exit 1; the daemon itself refuses
to start on a bad configuration with exit 78 (EX_CONFIG)."""

import re

from harness.case import Case
from harness.relay import days_until, device, settings_file, sunset_in

SCANNER = device("scanner-1", "127.0.0.1", sunset=sunset_in(90))
TODAY = device("fax-today", "127.0.0.4", sunset=sunset_in(0))
EXPIRED = device("old-fax", "127.0.0.5", sunset=sunset_in(-1))
BAD_DATE = "2027-02-30"


def check_good(ctx):
    """(a) the case's own config: OK, one device line each, days left."""
    status, out = ctx.relay.run_check()
    ctx.note("-t on the good config (exit %d):\n%s" % (status, out))
    ctx.check(status == 0, "-t on a good config exited %d" % status)
    ctx.check("configuration OK" in out.splitlines(),
              "no 'configuration OK' line: %r" % out)
    lines = [l for l in out.splitlines() if l.startswith("device ")]
    ctx.check(len(lines) == 3, "expected 3 device lines, got %r" % lines)
    for dev in (SCANNER, TODAY):
        want = "device %s: sunset %s, %d days left," % (
            dev["name"], dev["sunset"], days_until(dev["sunset"]))
        ctx.check(any(l.startswith(want) for l in lines),
                  "no line starting %r in %r" % (want, lines))
    ctx.check(any(l.startswith("device old-fax: sunset %s, EXPIRED"
                               % EXPIRED["sunset"]) for l in lines),
              "the expired device is not shown as EXPIRED: %r" % lines)


def bad_devices_text():
    """The devices file with one impossible date; returns (text, line)."""
    text = settings_file({"devices": [SCANNER, dict(TODAY,
                                                    sunset=BAD_DATE)]})
    line = next(i for i, l in enumerate(text.splitlines(), 1)
                if BAD_DATE in l)
    return text, line


def check_bad_date(ctx):
    """(b) an impossible sunset date: FILE:LINE: error, exit 1."""
    text, line = bad_devices_text()
    ctx.relay.write_devices_text(text)
    status, out = ctx.relay.run_check()
    ctx.note("-t with a bad date (exit %d):\n%s" % (status, out))
    ctx.check(status == 1, "-t with a bad date exited %d, expected 1"
              % status)
    ctx.check("configuration OK" not in out, "bad date: 'configuration OK'")
    where = re.compile(r"(^|/)devices\.conf:%d: .*%s" % (line, BAD_DATE))
    ctx.check(any(where.search(l) for l in out.splitlines()),
              "no 'devices.conf:%d: ...%s...' error in %r"
              % (line, BAD_DATE, out))
    return line


def check_daemon_refuses(ctx, line):
    """(d) the daemon, not -t, on the same bad files: exit 78, logged."""
    mark = len(ctx.relay.lines())
    status = ctx.relay.run_once(timeout=10)
    ctx.check(status == 78, "tlsrelayd with a bad config exited %s, "
              "expected 78 (EX_CONFIG)" % status)
    logged = ctx.relay.lines()[mark:]
    ctx.check(any(re.search(r"config: (.*/)?devices\.conf:%d: " % line, l)
                  for l in logged),
              "the daemon did not log the devices.conf:%d error: %r"
              % (line, logged))
    ctx.check(any("tlsrelayd not started" in l for l in logged),
              "no 'tlsrelayd not started' line: %r" % logged)


def check_key_mismatch(ctx):
    """(c) a LAN key that belongs to another certificate: exit 1, the
    error names the key file."""
    ctx.relay.devices = [SCANNER]
    other_key = ctx.pki.localhost[1]
    ctx.relay.settings["lan_tls"]["key"] = other_key
    ctx.relay.write_config()
    status, out = ctx.relay.run_check()
    ctx.note("-t with a mismatched key (exit %d):\n%s" % (status, out))
    ctx.check(status == 1, "-t with a mismatched LAN key exited %d, "
              "expected 1" % status)
    ctx.check("configuration OK" not in out,
              "mismatched key: 'configuration OK'")
    ctx.check(any(other_key in l and "match" in l
                  for l in out.splitlines()),
              "no key mismatch error naming the key file %s in %r"
              % (other_key, out))


def client(ctx):
    check_good(ctx)
    line = check_bad_date(ctx)
    check_daemon_refuses(ctx, line)
    check_key_mismatch(ctx)


CASE = Case(
    "tlsrelayd -t: OK + days left; bad date -> FILE:LINE, exit 1; key "
    "mismatch -> exit 1; daemon -> 78",
    client,
    upstream="counting",
    devices=[SCANNER, TODAY, EXPIRED],
    start=False,
    upstream_connections=0,
)
