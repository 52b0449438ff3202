"""Owner notices over the connector route: a device 5 days from its
sunset gets the 7-day notice, one past its sunset the "refused" one, and
the admin this week's digest naming both, each in its mailbox on the MX
stand-in exactly once, also after a restart; tlsrelayctl notify --dry-run
then has nothing left to send."""

import datetime

from harness.case import Case
from harness.fixtures import mx
from harness.mx import SENDER
from harness.register import ctl
from harness.relay import device, sunset_in

OWNER = "inbox@example.test"
ADMIN = "scanner@example.test"
SOON = device("copier", "127.0.0.2", sunset=sunset_in(5), owner=OWNER)
GONE = device("oldfax", "127.0.0.3", sunset=sunset_in(-2), owner=OWNER)
FAR = device("scanner", "127.0.0.1", owner=OWNER)


def monday():
    """This week's Monday (UTC), which names the digest."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return (today - datetime.timedelta(days=today.weekday())).isoformat()


def needles():
    """The Message-ID of each notice expected."""
    return ["<notice.copier.%s.7@" % SOON["sunset"],
            "<notice.oldfax.%s.refused@" % GONE["sunset"],
            "<digest.%s@" % monday()]


def read_message(ctx, needle):
    """The text of the one message with needle."""
    with open(ctx.mx.find_message(needle)[0], "rb") as f:
        return f.read().decode(errors="replace")


def check_once(ctx, when):
    """Each notice is in the mailbox exactly once; none for FAR."""
    for needle in needles():
        found = ctx.mx.find_message(needle)
        ctx.check(len(found) == 1, "%s: %d messages with %s"
                  % (when, len(found), needle))
    ctx.check(not ctx.mx.find_message("<notice.scanner."),
              "%s: a notice for a device far from its sunset" % when)


def client(ctx):
    for needle in needles():
        ctx.check(ctx.mx.wait_message(needle, 30),
                  "notice %s never arrived" % needle)
    for name in ("copier", "oldfax"):
        ctx.check(ctx.relay.wait_event(event="notice_sent", device=name),
                  "no notice_sent line for %s" % name)
    text = read_message(ctx, needles()[0])
    ctx.check("5 days left" in text and "To: %s" % OWNER in text and
              "smtp allowed, never used" in text,
              "the 7-day notice does not say what it should:\n%s" % text)
    text = read_message(ctx, needles()[2])
    ctx.check("To: %s" % ADMIN in text and "1 exception ending, 1 ended"
              in text and "\noldfax, owner" in text and "\ncopier, owner"
              in text and "scanner" not in text.split("\n\n", 1)[1],
              "the digest does not say what it should:\n%s" % text)
    ctx.check(ctx.relay.wait_event(event="notice_sent", threshold="digest"),
              "no notice_sent line for the digest")
    check_once(ctx, "first run")
    ctx.relay.stop()
    ctx.relay.start()
    ctx.check(ctx.relay.wait_event(event="notices_run", due="0", timeout=30),
              "after the restart the relay would send again")
    check_once(ctx, "after a restart")
    status, out, err = ctl(ctx, "notify", "--dry-run")
    ctx.check(status == 0 and "notice" not in out,
              "dry-run after sending: %d %r %r" % (status, out, err))


def settings(s):
    s["notices"] = {"from": SENDER, "route": "connector", "admin": ADMIN}


CASE = Case(
    "owner notices via the connector: 7-day and refused notices and the "
    "admin's digest arrive once each, not again after a restart; dry-run "
    "then empty",
    client,
    upstream="counting",
    fixtures=[mx()],
    upstream_connections=0,
    devices=[SOON, GONE, FAR],
    settings=settings,
)
