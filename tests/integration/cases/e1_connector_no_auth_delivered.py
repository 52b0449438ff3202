"""Connector relay: a device with no AUTH (plaintext, then STARTTLS pinned
to TLS 1.0) sends one message per session; the relay reaches the MX
stand-in with STARTTLS and the connector certificate, sends no AUTH, and
the messages are delivered with their envelope sender."""

from harness.case import Case
from harness.clients import send_message
from harness.fixtures import mx
from harness.mx import SENDER, mx_disconnects, tls_lines
from harness.relay import device

DEVICE = device("mfp-1", "127.0.0.1", auth="connector", senders=[SENDER])


def session(ctx, msgid, tls):
    """One device session: EHLO (no AUTH offered), [STARTTLS at TLS 1.0,]
    one message from SENDER, QUIT."""
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    caps = ctx.ehlo(s)
    if tls:
        caps = ctx.starttls(s)
    ctx.check("auth" not in caps, "EHLO offers AUTH to a connector device "
              "(ignore_auth is false): %s" % sorted(caps))
    send_message(s, msgid, sender=SENDER)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


def client(ctx):
    tls10 = ctx.msgid + "-tls10"
    session(ctx, ctx.msgid, tls=False)
    session(ctx, tls10, tls=True)
    for msgid in (ctx.msgid, tls10):
        path = ctx.mx.wait_message(msgid, 20)
        ctx.check(path, "message %s not delivered to the stand-in" % msgid)
        with open(path, "rb") as f:
            head = f.read().split(b"\n\n", 1)[0]
        ctx.check(b"Return-Path: <%s>" % SENDER.encode() in head,
                  "envelope sender not kept: %r" % head[:300])
    ends = ctx.relay.wait_sessions(2, event="end", device="mfp-1")
    ctx.check(len(ends) == 2, "want 2 end lines, got %r" % ends)
    want_up = "localhost:%d" % ctx.connector.port
    for f, lan in zip(ends, ("none", "TLSv1")):
        ctx.check(f.get("result") == "ok" and f.get("messages") == "1" and
                  f.get("lan_tls") == lan and
                  f.get("upstream") == want_up and
                  f.get("upstream_tls") in ("TLSv1.2", "TLSv1.3"),
                  "end line: want result=ok messages=1 lan_tls=%s "
                  "upstream=%s upstream_tls=TLSv1.2+, got %r"
                  % (lan, want_up, f))
    lines = ctx.mx_log()
    trusted = tls_lines(lines, "Trusted")
    ctx.check(len(trusted) == 2 and len(tls_lines(lines)) == 2,
              "the stand-in should have verified the client certificate "
              "twice: %r" % tls_lines(lines))
    stats = mx_disconnects(ctx, 2)
    ctx.check(len(stats) == 2 and not any(" auth=" in l for l in stats),
              "stand-in sessions: want 2 without AUTH: %r" % stats)
    ctx.check(not any("NOQUEUE" in l for l in ctx.mx_log()),
              "the stand-in refused something: %r"
              % [l for l in ctx.mx_log() if "NOQUEUE" in l])


CASE = Case(
    "connector relay: no device AUTH (plain, STARTTLS TLS 1.0) -> STARTTLS "
    "+ client certificate to the MX stand-in -> delivered",
    client,
    upstream="counting",
    fixtures=[mx(connections=2)],
    upstream_connections=0,
    devices=[DEVICE],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1", "device": "mfp-1",
         "protocol": "smtp", "lan_tls": "none",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
