"""A real HAProxy (mode tcp, send-proxy-v2, check-send-proxy) in front of
two tlsrelayd: devices on several loopback addresses reach both, each
relay allows and logs by the device's own address (proxy= beside it), an
unlisted address is refused; killing one relay mid-DATA leaves new
sessions to the other, and no message acknowledged to a device is missing
from Postfix."""

import os
import signal
import smtplib
import time

from harness.case import Case
from harness.clients import close_quietly, make_message, smtp_connect
from harness.proxy import (PROXY_LISTENER, PROXY_SOURCE, HAProxy,
                           add_proxy_listener, listener_port, second_relay)
from harness.metrics import add_metrics, http, parse, value
from harness.relay import device
from harness.steps import ctx_auth_plain

DEVICES = ["127.0.0.2", "127.0.0.3"]
UNLISTED = "127.0.0.4"
RCPT = "inbox@example.test"
SENDER = "scanner@example.test"


def session(ctx, hap, source):
    """A logged-in SMTP session through HAProxy from source."""
    s, greeting = smtp_connect(hap.port, source=source)
    ctx._open.append(s)
    ctx.expect_code(greeting, 220, "greeting via HAProxy from %s" % source)
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH from %s" % source)
    return s


def send(ctx, hap, source, msgid, acked):
    """One message; its id goes to acked if the relay said 250."""
    s = session(ctx, hap, source)
    s.sendmail(SENDER, [RCPT], make_message(msgid, SENDER, RCPT))
    acked.append(msgid)
    close_quietly(s)


def begin_data(ctx, s, n):
    """MAIL, RCPT, DATA and the (dot-stuffed) body without its final
    dot; returns the message's id."""
    ctx.expect_code(s.mail(SENDER), 250, "MAIL")
    ctx.expect_code(s.rcpt(RCPT), 250, "RCPT")
    ctx.expect_code(s.docmd("DATA"), 354, "DATA")
    msgid = "%s-cut-%d" % (ctx.msgid, n)
    s.send(make_message(msgid, SENDER, RCPT).replace("\r\n.", "\r\n.."))
    return msgid


def end_data(s):
    """Send the final dot: the reply code, or None if the link broke."""
    try:
        s.send(".\r\n")
        return s.getreply()[0]
    except (smtplib.SMTPException, OSError):
        return None


def ends_by_relay(relay):
    """The relay's end lines."""
    return [f for f in relay.sessions() if f.get("event") == "end"]


def starts(relay):
    """The relay's start lines."""
    return [f for f in relay.sessions() if f.get("event") == "start"]


def client(ctx):
    other = second_relay(ctx)
    hap = HAProxy(os.path.join(ctx.relay.dir, "haproxy"),
                  [("r1", listener_port(ctx.relay, PROXY_LISTENER)),
                   ("r2", listener_port(other, PROXY_LISTENER))]).start()
    try:
        run(ctx, hap, other)
    finally:
        hap.stop()
        status = other.stop()
        ctx.check(status in (0, -signal.SIGKILL),
                  "second relay exit status %s" % status)


def run(ctx, hap, other):
    time.sleep(1.5)		# both servers up: rise 2, inter 300 ms
    acked = []
    for i in range(4):
        send(ctx, hap, DEVICES[i % 2], "%s-%d" % (ctx.msgid, i), acked)
    for relay, what in ((ctx.relay, "first"), (other, "second")):
        ends = relay.wait_sessions(1, event="end")
        ctx.check(len(ends) >= 1, "%s relay served none of 4 sessions"
                  % what)
        for f in ends:
            ctx.check(f.get("client") in DEVICES and
                      f.get("proxy") == PROXY_SOURCE and
                      f.get("result") == "ok", "%s relay: %r" % (what, f))
    s, greeting = smtp_connect(hap.port, source=UNLISTED)
    ctx._open.append(s)
    ctx.expect_code(greeting, 554, "unlisted %s via HAProxy" % UNLISTED)

    cut = [session(ctx, hap, DEVICES[0]), session(ctx, hap, DEVICES[1])]
    cut_ids = [begin_data(ctx, s, n) for n, s in enumerate(cut)]
    open_on_other = len(starts(other)) - len(ends_by_relay(other))
    other.proc.send_signal(signal.SIGKILL)
    other.proc.wait(5)
    codes = [end_data(s) for s in cut]
    for s in cut:
        close_quietly(s)
    ctx.note("final dots after the kill: %r" % codes)
    ctx.check(codes.count(None) == open_on_other and
              codes.count(250) == len(cut) - open_on_other,
              "%d of the sessions were on the killed relay: expected as "
              "many broken ones and 250 for the rest, got %r"
              % (open_on_other, codes))
    acked += [m for m, c in zip(cut_ids, codes) if c == 250]

    # The other relay is gone: each of these is served (send() fails the
    # case otherwise) by this one.
    for i in range(4):
        send(ctx, hap, DEVICES[i % 2], "%s-after-%d" % (ctx.msgid, i),
             acked)
    for msgid in acked:
        ctx.check(ctx.postfix.wait_message(msgid, 20) is not None,
                  "message %s acknowledged but not delivered" % msgid)
    checks = value(parse(http(ctx.relay, "/metrics")[1]),
                   "tlsrelayd_proxy_health_checks_total")
    ctx.check(checks > 0, "HAProxy's LOCAL health checks were not counted")
    ctx.note("health checks counted: %d" % checks)


def settings(s):
    add_proxy_listener(s)
    add_metrics(s)


CASE = Case(
    "HAProxy send-proxy-v2 -> two relays: device addresses logged, "
    "unlisted refused, one killed mid-DATA, no false 250",
    client,
    upstream="postfix",
    devices=[device("scanner-%d" % i, a, plaintext_auth=True)
             for i, a in enumerate(DEVICES)],
    settings=settings,
    needs=("haproxy",),
)
