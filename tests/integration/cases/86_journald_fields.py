"""With journald as the log target, every session line and refusal is a
journal entry with TLSRELAY_* fields and, for the main events, a MESSAGE_ID
that journalctl -x explains from the tlsrelayd catalog. A private
systemd-journald (in a mount namespace shared with the daemon) stores them;
the queries are the ones an admin types."""

from harness import sd
from harness.case import Case
from harness.relay import device, sunset_in
from harness.steps import refused_greeting

# src/msgid.h
SESSION_END = "efc75055f408445a8195166776938abc"
REFUSED_UNKNOWN = "130f38ded8524149b737e8c972c2c417"
REFUSED_EXPIRED = "fdd1ca98c3ff4fc9989be51d485caa19"
DEVICE_EXPIRING = "a7075b12e1b0447e8c8b696b40480115"
DEVICE_EXPIRED = "2db9ee1e2e164f738243f5c8cc0c1b32"

COPIER_SUNSET = sunset_in(10)
FAX_SUNSET = sunset_in(-2)


def expect(ctx, journal, want, *matches):
    """The entry matching matches must have every field of want."""
    entry = journal.wait_entry(*matches)
    ctx.check(entry is not None, "no journal entry for %s" % " ".join(matches))
    wrong = {k: entry.get(k) for k, v in want.items() if entry.get(k) != v}
    ctx.check(not wrong, "entry for %s: %r, expected %r"
              % (" ".join(matches), wrong, {k: want[k] for k in wrong}))
    return entry


def client(ctx):
    journal = sd.PrivateJournal(ctx.relay.dir, ctx.relay.binary)
    try:
        sd.start(ctx, wrapper=journal.wrapper(), foreground=False)
        s, greeting = ctx.smtp("smtp", source="127.0.0.1")
        ctx.expect_code(greeting, 220, "greeting")
        ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
        refused_greeting(ctx, source="127.0.0.9")
        refused_greeting(ctx, source="127.0.0.2")

        end = expect(ctx, journal, {
            "MESSAGE_ID": SESSION_END, "SYSLOG_IDENTIFIER": "tlsrelayd",
            "PRIORITY": "4", "TLSRELAY_CLIENT": "127.0.0.1",
            "TLSRELAY_PROTOCOL": "smtp", "TLSRELAY_LAN_TLS": "none",
            "TLSRELAY_UPSTREAM_TLS": "none", "TLSRELAY_RESULT": "ok",
            "TLSRELAY_SUNSET": COPIER_SUNSET, "TLSRELAY_DAYS_LEFT": "10"},
            "TLSRELAY_DEVICE=copier-2f", "TLSRELAY_EVENT=end")
        ctx.check(len(end.get("TLSRELAY_SESSION", "")) == 16,
                  "no TLSRELAY_SESSION on the end entry")
        ctx.check(end.get("MESSAGE", "").startswith("session="),
                  "MESSAGE is not the key=value line: %r"
                  % end.get("MESSAGE"))
        expect(ctx, journal, {"TLSRELAY_REASON": "unknown",
                              "TLSRELAY_EVENT": "refused"},
               "MESSAGE_ID=" + REFUSED_UNKNOWN, "TLSRELAY_CLIENT=127.0.0.9")
        expect(ctx, journal, {"TLSRELAY_DEVICE": "old-fax",
                              "TLSRELAY_SUNSET": FAX_SUNSET,
                              "TLSRELAY_DAYS_LEFT": "-2"},
               "MESSAGE_ID=" + REFUSED_EXPIRED)
        expect(ctx, journal, {"TLSRELAY_DEVICE": "copier-2f"},
               "MESSAGE_ID=" + DEVICE_EXPIRING)
        expect(ctx, journal, {"TLSRELAY_DEVICE": "old-fax"},
               "MESSAGE_ID=" + DEVICE_EXPIRED)

        text = journal.explain("MESSAGE_ID=" + REFUSED_UNKNOWN)
        ctx.note("journalctl -x:\n" + text)
        ctx.check("Subject: tlsrelayd refused 127.0.0.9: not an allowed "
                  "device" in text, "journalctl -x shows no catalog subject")
        ctx.check("systemctl reload tlsrelayd" in text,
                  "journalctl -x does not say what to do")
    finally:
        ctx.relay.stop()
        journal.stop()


def to_journald(settings):
    settings["log"] = {"target": "journald"}


CASE = Case(
    "journald: TLSRELAY_* fields, MESSAGE_IDs and the catalog (-x)",
    client,
    upstream="counting",
    devices=[device("copier-2f", "127.0.0.1", sunset=COPIER_SUNSET),
             device("old-fax", "127.0.0.2", sunset=FAX_SUNSET)],
    listeners=("smtp",),
    settings=to_journald,
    needs=("unshare", "journalctl"),
    start=False,
)
