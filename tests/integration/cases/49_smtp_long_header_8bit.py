"""A message as old scanners write it: no BODY=8BITMIME on MAIL FROM, yet
raw 8-bit bytes (Latin-1 and UTF-8) in a header and in the body, one
header line of about 5000 bytes and one body line of 20000 bytes.

limits.line_length (2048) bounds command lines only; DATA content is
streamed line by line with no length limit (the 20000-byte line is also
over the 4 * line_length read watermark, so it is forwarded in pieces
before its line end arrives). The relay must pass every byte through.

What reaches the maildir is also shaped by Postfix (line_length_limit
2048: it splits longer lines in its queue file and joins them again on
delivery), and the harness has one Postfix for all cases, with no per-case
settings. So the same message is also submitted straight to Postfix in
this case, and the relayed copy must equal that control copy except for
the headers Postfix adds (Return-Path, Delivered-To, Received) and the
message's tag; the long lines and 8-bit bytes are then also checked in the
relayed copy directly (maildir line ends are LF).
"""

from harness.case import Case
from harness.clients import (auth_plain, b64, close_quietly, modern_context,
                             smtp_connect)
from harness.relay import device
from harness.steps import delivered_headers, raw_expect, raw_send_message

LONG_HEADER_BYTES = 5000
LONG_BODY_BYTES = 20000
ADDED = (b"return-path", b"x-original-to", b"delivered-to", b"received")


def long_text(n, seed):
    """n bytes of printable ASCII without spaces, varied so a dropped or
    repeated chunk shows."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"%s%06d." % (seed, i)
        i += 1
    return bytes(out[:n])


def lines_of(tag):
    """The message's lines (without line ends) for one tag."""
    t = tag.encode()
    long_header = b"X-Scan-Job: " + long_text(
        LONG_HEADER_BYTES - len(b"X-Scan-Job: "), b"hdr")
    return [
        b"From: scanner@example.test",
        b"To: inbox@example.test",
        b"Subject: Scan r\xe9sum\xe9 " + t,
        b"Date: Mon, 2 Feb 2026 10:00:00 +0000",
        b"Message-ID: <" + t + b"@relay.test>",
        long_header,
        b"X-Device: Stra\xc3\x9fe-Kopierer",
        b"",
        b"id: " + t,
        b"Latin-1: caf\xe9 na\xefve \xe0 bient\xf4t \xa9\xb0\xff",
        b"UTF-8: caf\xc3\xa9 \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac "
        b"\xf0\x9f\x98\x80",
        b"All high bytes: " + bytes(range(0x80, 0x100)),
        long_text(LONG_BODY_BYTES, b"body"),
        b"end of " + t,
    ]


def message(tag):
    """The message as CRLF-terminated bytes."""
    return b"".join(l + b"\r\n" for l in lines_of(tag))


def via_relay(ctx, tag):
    """Send through the relay with a raw client: MAIL FROM without BODY=."""
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    lines = raw_expect(ctx, c, "EHLO scanner.lan", 250, "EHLO")
    ctx.secrets.add(ctx.password)
    raw_expect(ctx, c, "AUTH PLAIN " + b64("\0%s\0%s" % (ctx.user,
                                                         ctx.password)),
               235, "AUTH PLAIN")
    raw_send_message(ctx, c, message(tag), what="relayed 8-bit message")
    raw_expect(ctx, c, "QUIT", 221, "QUIT")


def direct(ctx, tag):
    """The control: the same message straight to Postfix (TLS, SASL),
    also without BODY=8BITMIME."""
    s, greeting = smtp_connect(ctx.postfix.port, host="localhost")
    try:
        ctx.expect_code(greeting, 220, "postfix greeting")
        s.ehlo("control.test")
        ctx.expect_code(s.starttls(context=modern_context(ctx.pki.ca)), 220,
                        "postfix STARTTLS")
        s.ehlo("control.test")
        ctx.expect_code(auth_plain(s, ctx.user, ctx.password), 235,
                        "postfix AUTH")
        ctx.expect_code(s.docmd("MAIL", "FROM:<%s>" % ctx.user), 250,
                        "postfix MAIL FROM")
        ctx.expect_code(s.docmd("RCPT", "TO:<inbox@example.test>"), 250,
                        "postfix RCPT TO")
        ctx.expect_code(s.data(message(tag)), 250, "postfix DATA")
    finally:
        close_quietly(s)


def delivered(ctx, tag, what):
    """The delivered bytes of the one message carrying tag."""
    path = ctx.postfix.wait_message("id: %s\n" % tag, 20)
    ctx.check(path, "%s message %s not delivered" % (what, tag))
    found = ctx.postfix.find_message("id: %s\n" % tag)
    ctx.check(len(found) == 1, "%s: %d messages carry %s" % (what,
                                                             len(found), tag))
    with open(path, "rb") as f:
        return f.read()


def without_added(data):
    """The message without the header lines Postfix adds on delivery."""
    head, body = data.split(b"\n\n", 1)
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.split(b":", 1)[0].strip().lower() in ADDED
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + b"\n\n" + body


def first_difference(a, b):
    """Where two byte strings first differ, with some context."""
    i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
             min(len(a), len(b)))
    return "at byte %d: relayed %r, direct %r (lengths %d, %d)" % (
        i, a[max(0, i - 20):i + 40], b[max(0, i - 20):i + 40], len(a),
        len(b))


def client(ctx):
    relayed_tag, direct_tag = ctx.msgid + "-relay", ctx.msgid + "-direct"
    via_relay(ctx, relayed_tag)
    direct(ctx, direct_tag)
    relayed = delivered(ctx, relayed_tag, "relayed")
    control = delivered(ctx, direct_tag, "direct")
    a = without_added(relayed)
    b = without_added(control).replace(direct_tag.encode(),
                                       relayed_tag.encode())
    ctx.check(a == b, "the relayed message differs from the same message "
              "sent straight to Postfix %s" % first_difference(a, b))
    want = lines_of(relayed_tag)
    got = relayed.split(b"\n")
    for line in want:
        if line:
            ctx.check(line in got, "relayed message lacks the line %r "
                      "(%d bytes) unchanged" % (line[:60], len(line)))
    headers = dict(delivered_headers(relayed))
    ctx.check(len(headers.get(b"x-scan-job", b"")) ==
              LONG_HEADER_BYTES - len(b"X-Scan-Job: "),
              "the %d-byte header line did not arrive whole (%d bytes)"
              % (LONG_HEADER_BYTES,
                 len(headers.get(b"x-scan-job", b"")) + len(b"X-Scan-Job: ")))


CASE = Case(
    "no BODY=8BITMIME, raw 8-bit header and body bytes, a 5000-byte header "
    "line and a 20000-byte body line -> delivered unchanged",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
