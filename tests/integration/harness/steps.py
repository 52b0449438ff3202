"""Client dialogues shared by several case files: SMTP steps, refusals,
and the logins of OAuth2 devices over SMTP, POP3 and IMAP."""

import imaplib
import poplib
import smtplib

import time

from .case import CaseFailure
from .clients import TIMEOUT, auth_plain, client_hello, legacy_context
from .dovecot import USER
from .imap import connect as imap_connect
from .metrics import add_metrics, http, parse, value
from .register import wait_row

MAILBOX = USER			# the one mailbox the OAuth2 Dovecot knows
DEVICE_SECRET = "Dev1ce-Secret-7f3a"	# what oauth_device() hashes


def plain_auth_and_send(ctx, listener="smtp"):
    """EHLO, AUTH PLAIN in the clear, one message (plaintext_auth device)."""
    s, greeting = ctx.smtp(listener)
    ctx.expect_code(greeting, 220, "greeting")
    caps = ctx.ehlo(s)
    ctx.check("auth" in caps, "EHLO does not advertise AUTH (caps %s)"
              % sorted(caps))
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH PLAIN")
    ctx.send(s)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


def ready_for_data(ctx):
    """EHLO, AUTH PLAIN in the clear, MAIL and RCPT: the client, ready for
    DATA (plaintext_auth device)."""
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH PLAIN")
    ctx.expect_code(s.mail(ctx.user), 250, "MAIL FROM")
    ctx.expect_code(s.rcpt("inbox@example.test"), 250, "RCPT TO")
    return s


def ctx_auth_plain(ctx, s, password=None):
    """AUTH PLAIN with the test user's credentials."""
    if password:
        ctx.secrets.add(password)
    return auth_plain(s, ctx.user, password or ctx.password)


def refused_greeting(ctx, source=None, listener="smtp"):
    """Connect and expect a 554 5.7.1 greeting and then a closed
    connection; returns the greeting text."""
    c = ctx.raw(listener, source=source)
    code, lines = c.reply()
    text = " / ".join(lines)
    ctx.check(code == 554, "greeting: expected 554, got %r" % text)
    ctx.check(lines[-1].startswith("554 5.7.1 "),
              "greeting is not '554 5.7.1 ...': %r" % text)
    closed, rest = c.wait_closed(10)
    ctx.check(closed, "relay did not close the refused connection")
    return text


TLS_RSA_WITH_AES_128_CBC_SHA = 0x002F
HELLO_WAIT = 3		# HELLO_SNIFF_TIMEOUT: the relay's wait for a hello


def refused_before_handshake(ctx, listener, source=None):
    """Send a TLS 1.0 ClientHello to an implicit-TLS listener as a client
    the allow-list refuses: the relay must close the connection without
    sending a byte (no ServerHello), before its hello wait runs out."""
    c = ctx.raw(listener, source=source)
    started = time.monotonic()
    c.send(client_hello([TLS_RSA_WITH_AES_128_CBC_SHA]))
    closed, got = c.wait_closed(HELLO_WAIT + 2)
    took = time.monotonic() - started
    ctx.check(closed and got == b"", "%s from %s: expected a close without "
              "a ServerHello, got closed=%r and %d bytes %r"
              % (listener, source, closed, len(got), got[:16]))
    ctx.check(took < HELLO_WAIT, "%s from %s: closed %.1f s after the "
              "ClientHello" % (listener, source, took))


def refused_device_takes_no_slot(ctx, source, listener="smtps"):
    """With limits.max_sessions 1: a refused device's silent connections
    wait for a hello outside the limit while the registered device (the
    default source, plaintext_auth) is served, and its ClientHello sent
    while that session holds the one slot is closed unhandshaken."""
    silent = [ctx.raw(listener, source=source) for _ in range(2)]
    s, greeting = ctx.smtp(listener)
    ctx.expect_code(greeting, 220, "registered device's greeting while "
                    "the refused device's connections wait")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH PLAIN")
    refused_before_handshake(ctx, listener, source)
    ctx.send(s)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    for c in silent:
        closed, got = c.wait_closed(HELLO_WAIT + 2)
        ctx.check(closed and got == b"", "a silent connection from %s: "
                  "closed=%r, got %r" % (source, closed, got[:16]))


def one_session_with_metrics(s):
    """Settings: limits.max_sessions 1 and a metrics listener."""
    s["limits"]["max_sessions"] = 1
    add_metrics(s)


def refused_at_accept(ctx, source, name, reason):
    """With one_session_with_metrics: device name at source, refused for
    reason on SMTPS, takes no slot (refused_device_takes_no_slot) and is
    logged, counted and registered (check_judged_at_accept)."""
    refused_device_takes_no_slot(ctx, source)
    check_judged_at_accept(ctx, name, reason, 3)


def check_judged_at_accept(ctx, name, reason, count, listener="smtps"):
    """After refused_device_takes_no_slot: count refused lines for device
    name with reason (each with its sunset), as many refusals in /metrics
    and one LAN handshake (the registered device's), and the device's
    refused session in the register with the TLS 1.0 it offered."""
    lines = ctx.relay.wait_sessions(count, event="refused", reason=reason,
                                    device=name, listener=listener)
    ctx.check(len(lines) == count, "%d refused lines for %s, want %d"
              % (len(lines), name, count))
    for fields in lines:
        ctx.check_sunset(fields)
    m = parse(http(ctx.relay, "/metrics")[1])
    ctx.check(value(m, "tlsrelayd_refusals_total", protocol="smtp",
                    reason=reason) == count,
              "refusals_total{%s} is not %d" % (reason, count))
    handshakes = sum(v for (k, _), v in m.items()
                     if k == "tlsrelayd_lan_tls_handshakes_total")
    ctx.check(handshakes == 1, "%s LAN handshakes, want 1 (the registered "
              "device's)" % handshakes)
    wait_row(ctx, name, "smtp", lambda r: r.get("last_refused") and
             r.get("best_offered") == "TLSv1",
             "a refused session of %s offering TLSv1" % name)


def auth_tempfails(ctx):
    """The upstream is broken: AUTH must get 421 or 454, and no message may
    ever get a 2xx."""
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    reply = ctx_auth_plain(ctx, s)
    ctx.expect_code(reply, (421, 454), "AUTH with a broken upstream")
    try:
        s.sendmail(ctx.user, ["inbox@example.test"],
                   "Subject: x\r\n\r\nid: %s\r\n" % ctx.msgid)
    except (smtplib.SMTPException, OSError):
        return
    raise CaseFailure("the relay accepted a message after AUTH failed")


def no_auth_sent_upstream(ctx):
    """The relay must not have sent credentials to a broken upstream."""
    for transcript in ctx.fault.transcripts:
        for direction, text in transcript:
            ctx.check(not (direction == "C" and
                           text.upper().startswith("AUTH")),
                      "relay sent AUTH to the broken upstream: %r" % text)


def raw_expect(ctx, c, command, code, what):
    """Send one command line (str or bytes, CRLF added) on a RawClient and
    check the reply code; returns the reply lines."""
    if isinstance(command, str):
        command = command.encode()
    c.send(command + b"\r\n")
    got, lines = c.reply()
    ctx.check(got == code, "%s: expected %d, got %r" % (what, code, lines))
    return lines


def raw_send_message(ctx, c, message, sender=None,
                     rcpt="inbox@example.test", what="message"):
    """MAIL FROM (no ESMTP parameters), RCPT TO, DATA on a RawClient, the
    message bytes (CRLF line ends, sent as they are except that lines
    starting with "." are dot-stuffed, as smtplib does), then the final
    dot: each step must get its 250/354."""
    raw_expect(ctx, c, "MAIL FROM:<%s>" % (sender or ctx.user), 250,
               "%s: MAIL FROM" % what)
    raw_expect(ctx, c, "RCPT TO:<%s>" % rcpt, 250, "%s: RCPT TO" % what)
    raw_expect(ctx, c, "DATA", 354, "%s: DATA" % what)
    message = b"\r\n".join(b"." + l if l.startswith(b".") else l
                           for l in message.split(b"\r\n"))
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    c.send(message + b".\r\n")
    got, lines = c.reply()
    ctx.check(got == 250, "%s: end of DATA: expected 250, got %r"
              % (what, lines))


def delivered_headers(data):
    """The header section of a delivered (maildir, LF line ends) message as
    a list of (lower-case name, unfolded value) pairs of bytes, in order."""
    head = data.split(b"\n\n", 1)[0]
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip())
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append((name.strip().lower(), value.strip()))
    return fields


def smtp_login(ctx, listener="smtps", secret=DEVICE_SECRET, user=MAILBOX,
               source=None):
    """Connect (from source) as a TLS 1.0 device (implicit TLS, or
    STARTTLS on "smtp"), EHLO and AUTH PLAIN with the mailbox and secret;
    returns (smtp, (code, text)) of AUTH."""
    ctx.secrets.add(secret)
    s, greeting = ctx.smtp(listener, source=source)
    ctx.expect_code(greeting, 220, "greeting")
    if listener == "smtps":
        ctx.check(s.sock.version() == "TLSv1", "LAN TLS is %s, not TLSv1"
                  % s.sock.version())
        ctx.ehlo(s)
    else:
        ctx.ehlo(s)
        ctx.starttls(s)
    return s, auth_plain(s, user, secret)


def smtp_send(ctx, listener="smtps", msgid=None):
    """A device with the right secret sends one message: 235, then the
    message is accepted, then QUIT."""
    s, reply = smtp_login(ctx, listener)
    ctx.expect_code(reply, 235, "AUTH PLAIN with the device secret")
    ctx.send(s, msgid)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


def pop3_login(ctx, listener="pop3s", secret=DEVICE_SECRET, user=MAILBOX):
    """A TLS 1.0 POP3S device: USER/PASS with mailbox and secret;
    returns (poplib client, PASS reply or the error text)."""
    ctx.secrets.add(secret)
    p = poplib.POP3_SSL("127.0.0.1", ctx.port(listener), timeout=TIMEOUT,
                        context=legacy_context())
    ctx._open.append(p)
    ctx.check(p.sock.version() == "TLSv1", "LAN TLS is %s, not TLSv1"
              % p.sock.version())
    p.user(user)
    try:
        return p, p.pass_(secret).decode(errors="replace")
    except poplib.error_proto as e:
        return p, e.args[0].decode(errors="replace")


def imap_login(ctx, listener="imaps", secret=DEVICE_SECRET, user=MAILBOX):
    """A TLS 1.0 IMAPS device: LOGIN with mailbox and secret; returns
    (imaplib client, (typ, text))."""
    ctx.secrets.add(secret)
    imap = imap_connect(ctx, listener)
    ctx.check(imap.sock.version() == "TLSv1", "LAN TLS is %s, not TLSv1"
              % imap.sock.version())
    try:
        typ, data = imap.login(user, secret)
        return imap, (typ, b" ".join(data).decode(errors="replace"))
    except imaplib.IMAP4.error as e:
        return imap, ("NO", str(e))

