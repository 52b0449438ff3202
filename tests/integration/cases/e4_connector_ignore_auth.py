"""Connector relay, ignore_auth = true: a device that insists on AUTH
gets AUTH offered and 235 for any credentials (PLAIN in the clear on a
plaintext_auth device, LOGIN after STARTTLS at TLS 1.0); the credentials
go nowhere (the stand-in sees no AUTH, the log has no password), the
sender check still applies, and the messages are delivered."""

from harness.case import Case
from harness.clients import auth_login, auth_plain, send_message
from harness.fixtures import mx
from harness.mx import SENDER, mx_disconnects
from harness.relay import device

DEVICE = device("mfp-2", "127.0.0.1", auth="connector", senders=[SENDER],
                ignore_auth=True, plaintext_auth=True)
USER = "scanner-login@example.test"
PASSWORDS = ("Ignored-Plain-Pw-4e1", "Ignored-Login-Pw-9c7")


def session(ctx, msgid, tls, password):
    """EHLO (AUTH offered), [STARTTLS at TLS 1.0,] AUTH -> 235, a second
    AUTH -> 503, a sender not allowed -> 550 5.7.1, one message, QUIT."""
    ctx.secrets.add(password)
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    caps = ctx.ehlo(s)
    if tls:
        caps = ctx.starttls(s)
    ctx.check("auth" in caps, "EHLO does not offer AUTH to an ignore_auth "
              "device: %s" % sorted(caps))
    mechs = s.esmtp_features.get("auth", "").upper().split()
    ctx.check({"PLAIN", "LOGIN"} <= set(mechs),
              "AUTH mechanisms %r lack PLAIN or LOGIN" % mechs)
    if tls:
        reply = auth_login(s, USER, password)
    else:
        reply = auth_plain(s, USER, password)
    ctx.expect_code(reply, 235, "AUTH %s (ignored)"
                    % ("LOGIN" if tls else "PLAIN"))
    ctx.expect_code(auth_plain(s, USER, password), 503, "a second AUTH")
    ctx.expect_code(s.docmd("MAIL", "FROM:<other@example.test>"), 550,
                    "MAIL FROM a sender not in senders, after AUTH")
    send_message(s, msgid, sender=SENDER)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


def client(ctx):
    login = ctx.msgid + "-login"
    session(ctx, ctx.msgid, False, PASSWORDS[0])
    session(ctx, login, True, PASSWORDS[1])
    for msgid in (ctx.msgid, login):
        ctx.check(ctx.mx.wait_message(msgid, 20),
                  "message %s not delivered to the stand-in" % msgid)
    ends = ctx.relay.wait_sessions(2, event="end", device="mfp-2",
                                   result="ok", messages="1")
    ctx.check(len(ends) == 2, "want 2 end lines with result=ok messages=1, "
              "got %r" % ctx.relay.sessions())
    stats = mx_disconnects(ctx, 2)
    ctx.check(not any(" auth=" in l for l in stats),
              "the relay tried AUTH at the stand-in: %r" % stats)


CASE = Case(
    "connector relay, ignore_auth: device AUTH PLAIN/LOGIN -> 235 and "
    "dropped, sender still checked, no AUTH upstream -> delivered",
    client,
    upstream="counting",
    fixtures=[mx(connections=2)],
    upstream_connections=0,
    devices=[DEVICE],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1", "device": "mfp-2",
         "lan_tls": "none"},
)
