"""A device FETCHes a 12 MB message through a tiny receive buffer and does
not read for the first seconds: the relay must stop reading Dovecot
(backpressure), so its memory stays bounded, and the literal must arrive
intact.

Dovecot writes the whole message at once; a relay that kept reading it
would hold most of it (the kernel takes a few MB at most), one that
applies backpressure about its high-water mark (256 KB).
"""

import hashlib
import re
import time

from harness.case import Case
from harness.clients import unique_id
from harness.dovecot import USER
from harness.imap import RawImap, doveadm, imap_dovecot
from harness.relay import RssWatch, device

LINES = 160000			# 78 bytes each: about 12.5 MB
STALL = 3			# seconds the device reads nothing
MAX_GROWTH = 4 * 1024 * 1024	# what the relay may add to its RSS meanwhile


def message(msgid):
    """The big message (CRLF)."""
    head = ("From: scanner@example.test\r\nTo: inbox@example.test\r\n"
            "Subject: tlsrelay big %s\r\nMessage-ID: <%s@relay.test>\r\n\r\n"
            % (msgid, msgid))
    return head + "".join("line %06d %s\r\n" % (n, "z" * 64)
                          for n in range(LINES))


def digest(data):
    """SHA-256 of a message with LF line ends."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def client(ctx):
    dovecot = imap_dovecot(ctx.run)
    box = unique_id("slow")
    text = message(ctx.msgid)
    doveadm(dovecot, ["mailbox", "create", "-u", USER, box])
    try:
        doveadm(dovecot, ["save", "-u", USER, "-m", box], input=text)
        fetch_slowly(ctx, box, text.encode())
    finally:
        doveadm(dovecot, ["mailbox", "delete", "-u", USER, box])


def fetch_slowly(ctx, box, want):
    """LOGIN, SELECT box, FETCH message 1 with a stalled reader; check the
    relay's RSS and the literal."""
    c = RawImap(ctx.port("imap"), rcvbuf=4096)
    ctx._open.append(c)
    ctx.check((c.line() or "").startswith("* OK"), "greeting")
    lines = c.command("a1", 'LOGIN "%s" "%s"' % (ctx.user, ctx.password))
    ctx.check(lines and lines[-1].startswith("a1 OK"), "LOGIN: %r" % lines)
    lines = c.command("a2", "SELECT " + box)
    ctx.check(lines and lines[-1].startswith("a2 OK"), "SELECT: %r" % lines)
    watch = RssWatch(ctx.relay).start()
    c.send("a3 FETCH 1 BODY.PEEK[]\r\n")
    time.sleep(STALL)
    stalled = watch.peak - watch.base
    head = c.line() or ""
    m = re.match(r"\* 1 FETCH \(BODY\[\] \{(\d+)\}$", head)
    ctx.check(m is not None, "FETCH answer: %r" % head[:120])
    got = c.recv_exact(int(m.group(1)))
    rest = c.until_tagged("a3")
    peak = watch.stop()
    ctx.note("relay RSS %d KB before FETCH, +%d KB while the device "
             "stalled, +%d KB at most" % (watch.base // 1024,
                                          stalled // 1024,
                                          (peak - watch.base) // 1024))
    ctx.check(rest and rest[-1].startswith("a3 OK"), "FETCH end: %r"
              % rest[-2:])
    ctx.check(len(got) == int(m.group(1)) and digest(got) == digest(want),
              "the FETCHed message differs from the saved one (%d bytes, "
              "%d saved)" % (len(got), len(want)))
    ctx.check(watch.bounded(peak - watch.base, MAX_GROWTH), "the relay's RSS grew by %d "
              "KB while the device read slowly (limit %d KB): no "
              "backpressure" % ((peak - watch.base) // 1024,
                                MAX_GROWTH // 1024))
    lines = c.command("a4", "LOGOUT")
    ctx.check(lines and lines[-1].startswith("a4 OK"), "LOGOUT: %r" % lines)


CASE = Case(
    "FETCH of a 12 MB message to a device that reads slowly: relay RSS "
    "bounded (backpressure), literal intact",
    client,
    protocols=("imap",),
    listeners=("imap",),
    devices=[device("archiver-1", "127.0.0.1", protocols=["imap"],
                    plaintext_auth=True)],
    log={"event": "end", "result": "ok", "protocol": "imap"},
)
