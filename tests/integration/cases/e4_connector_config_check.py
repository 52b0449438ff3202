"""tlsrelayd -t on upstreams.connector: the client certificate must load,
match its key, be valid today and name an accepted domain (CN or SAN),
else an error with the file and line and exit 1 (the daemon itself: exit
78); one expiring within warn_days: "configuration OK" with its days
left, and the daemon starts with a warning (event=credential_expiring);
a connector device needs senders, all in the accepted domains."""

import re

from harness.case import Case
from harness.expiry import cert_expires, check_credential_line, \
    check_mode_line, days_left
from harness.fixtures import mx
from harness.mx import SENDER
from harness.relay import device, settings_file

DEVICE = device("mfp-1", "127.0.0.1", auth="connector", senders=[SENDER])
WARN_DAYS = 30


def conf_line(path, predicate):
    """1-based numbers of the lines of path satisfying predicate."""
    with open(path) as f:
        return [i for i, l in enumerate(f.read().splitlines(), 1)
                if predicate(l)]


def use(ctx, kind, **cert_args):
    """Point upstreams.connector at a certificate (made on first use by
    pki.client_certificate(kind, ...)) and its key; returns the cert."""
    cert, key = ctx.pki.client_certificate(kind, **cert_args)
    group = ctx.relay.settings["upstreams"]["connector"]
    group["certificate"], group["key"] = cert, key
    ctx.relay.write_config()
    return cert


def check(ctx, what):
    """tlsrelayd -t on the current files; notes the output."""
    status, out = ctx.relay.run_check()
    ctx.note("-t with %s (exit %d):\n%s" % (what, status, out))
    return status, out


def expect_ok(ctx, what):
    status, out = check(ctx, what)
    ctx.check(status == 0 and "configuration OK" in out.splitlines(),
              "-t with %s: want exit 0 and 'configuration OK', got exit "
              "%d: %r" % (what, status, out))
    return out


def expect_error(ctx, what, path, words, conf=None, lines=None):
    """Exit 1, no "configuration OK", and an error line naming
    conf:LINE (LINE one of lines), path, and every word in words."""
    status, out = check(ctx, what)
    ctx.check(status == 1, "-t with %s exited %d, expected 1" % (what, status))
    ctx.check("configuration OK" not in out, "%s: 'configuration OK'" % what)
    conf = conf or ctx.relay.conf
    where = re.compile(r"(^|/)%s:(%s):" % (
        re.escape(conf.rsplit("/", 1)[-1]), "|".join(map(str, lines))))
    ctx.check(any(where.search(l) and path in l and
                  all(w.lower() in l.lower() for w in words)
                  for l in out.splitlines()),
              "%s: no error line with %s:%s, %s and %r in %r"
              % (what, conf.rsplit("/", 1)[-1], "|".join(map(str, lines)),
                 path, words, out))
    return out


def client(ctx):
    conf = ctx.relay.conf
    group_lines = conf_line(conf, lambda l: l.strip() == "connector = {")
    cert = ctx.relay.settings["upstreams"]["connector"]["certificate"]

    def cert_lines(path):
        return group_lines + conf_line(
            conf, lambda l: l.strip() == 'certificate = "%s";' % path)

    # The case's own config; a SAN-only and a CN-only certificate.
    out = expect_ok(ctx, "the connector certificate")
    ctx.check(any(l.startswith("credential connector_certificate (%s)"
                               % cert) for l in out.splitlines()),
              "no 'credential connector_certificate (%s)' line" % cert)
    use(ctx, "conn-san-only", cn="Scanner relay",
        san="DNS:mail.other.test,DNS:example.test")
    expect_ok(ctx, "a certificate naming example.test in a SAN only")
    use(ctx, "conn-cn-only", cn="example.test", san="")
    expect_ok(ctx, "a certificate naming example.test in its CN only")

    # A certificate for another domain.
    path = use(ctx, "conn-other-domain", cn="other.test")
    expect_error(ctx, "a certificate for other.test", path,
                 ["accepted_domains"], lines=cert_lines(path))

    # Expired: -t and the daemon itself.
    path = use(ctx, "conn-expired", cn="example.test", expired=True)
    expect_error(ctx, "an expired certificate", path, ["expired"],
                 lines=cert_lines(path))
    mark = len(ctx.relay.lines())
    status = ctx.relay.run_once(timeout=10)
    logged = ctx.relay.lines()[mark:]
    ctx.check(status == 78 and any(path in l for l in logged) and
              any("tlsrelayd not started" in l for l in logged),
              "the daemon with an expired connector certificate: exit %s "
              "(want 78), log %r" % (status, logged))

    # A key that belongs to another certificate.
    cert_ok, _ = ctx.pki.client_certificate("connector", "example.test")
    _, other_key = ctx.pki.client_certificate("connector-unlisted",
                                              "example.test")
    group = ctx.relay.settings["upstreams"]["connector"]
    group["certificate"], group["key"] = cert_ok, other_key
    ctx.relay.write_config()
    expect_error(ctx, "a key of another certificate", other_key, ["match"],
                 lines=group_lines + conf_line(
                     conf, lambda l: l.strip() == 'key = "%s";' % other_key))

    # Devices: a sender outside the accepted domains; no senders.
    for bad, words in (
            (dict(DEVICE, senders=[SENDER, "scanner@other.test"]),
             ["scanner@other.test"]),
            ({k: v for k, v in DEVICE.items() if k != "senders"},
             ["senders"])):
        ctx.relay.write_devices_text(settings_file({"devices": [bad]}))
        dconf = ctx.relay.devices_conf
        lines = conf_line(dconf, lambda l: "senders" in l or
                          'name = "mfp-1"' in l or l.strip() == "{")
        expect_error(ctx, "a connector device with %s" % words[0], "",
                     words, conf=dconf, lines=lines)
    ctx.relay.write_devices([DEVICE])

    # Expiring within warn_days: -t says OK and shows the days left; the
    # daemon starts and warns (event=credential_expiring).
    path = use(ctx, "conn-10d", cn="example.test", days=10)
    date = cert_expires(path)
    days = days_left(date)
    ctx.check(days in (9, 10), "the 10-day certificate has %d days left"
              % days)
    check_mode_line(ctx, "connector_certificate", path, date, days)
    ctx.relay.start()
    check_credential_line(ctx, "credential_expiring",
                          "connector_certificate", "warning", days, date,
                          path)


CASE = Case(
    "tlsrelayd -t: connector certificate checked (domain, expiry, key) -> "
    "FILE:LINE, exit 1 / 78; expiring -> warning; device senders",
    client,
    upstream="counting",
    fixtures=[mx(connections=0)],
    upstream_connections=0,
    devices=[DEVICE],
    start=False,
    settings=lambda s: s.update(warn_days=WARN_DAYS),
)
