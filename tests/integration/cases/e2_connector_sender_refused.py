"""Connector relay: an envelope sender that is not in the device's senders
(same accepted domain, another domain, the null sender) gets 550 5.7.1 at
MAIL FROM and nothing goes upstream; AUTH from a connector device without
ignore_auth is refused too."""

from harness.case import Case
from harness.clients import auth_plain
from harness.fixtures import mx
from harness.mx import SENDER
from harness.relay import device

DEVICE = device("mfp-1", "127.0.0.1", auth="connector", senders=[SENDER],
                plaintext_auth=True)
REFUSED = ["other@example.test", "scanner@other.test", ""]
PASSWORD = "not-sent-anywhere-e2"


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.secrets.add(PASSWORD)
    ctx.expect_code(auth_plain(s, "mfp-1@example.test", PASSWORD),
                    range(500, 600), "AUTH from a connector device without "
                    "ignore_auth")
    for sender in REFUSED:
        text = ctx.expect_code(s.docmd("MAIL", "FROM:<%s>" % sender), 550,
                               "MAIL FROM:<%s>" % sender)
        ctx.check(text.startswith("5.7.1"), "MAIL FROM:<%s>: want 550 "
                  "5.7.1, got 550 %s" % (sender, text))
    ctx.expect_code(s.docmd("RCPT", "TO:<inbox@example.test>"),
                    range(500, 600), "RCPT TO without an accepted MAIL")
    code, text = s.docmd("HELP")
    ctx.check(code == 214 and text == b"2.0.0 Send mail without AUTH",
              "HELP for a device that sends without AUTH: %d %r"
              % (code, text))
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    refused = ctx.relay.wait_sessions(len(REFUSED), event="sender_refused",
                                      device="mfp-1")
    ctx.check(sorted(f.get("sender") for f in refused) == sorted(REFUSED),
              "sender_refused lines: want senders %r, got %r"
              % (REFUSED, refused))
    ctx.check(ctx.connector.accepted == 0 and
              not any("connect from" in l for l in ctx.mx_log()),
              "the stand-in saw a connection: %r" % ctx.mx_log())


CASE = Case(
    "connector relay: sender not in senders / not an accepted domain / "
    "<> -> 550 5.7.1, nothing upstream; AUTH refused",
    client,
    upstream="counting",
    fixtures=[mx(connections=0)],
    upstream_connections=0,
    devices=[DEVICE],
    delivered=False,
    log={"event": "end", "device": "mfp-1", "messages": "0"},
)
