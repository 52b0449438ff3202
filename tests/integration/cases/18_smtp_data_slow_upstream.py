"""A device sends an 8 MB message while the upstream stops reading: the
relay must stop reading the device too (backpressure), so its memory stays
bounded, and the message must reach Postfix intact once the upstream reads
again.

The upstream is the real Postfix behind a proxy the case pauses for the
first seconds of DATA. A relay that kept reading the device would hold
most of the message in its buffers (the kernel takes a few MB at most);
one that applies backpressure holds about its high-water mark (256 KB).
"""

import hashlib
import os
import threading
import time

from harness.case import Case
from harness.clients import b64
from harness.relay import RssWatch, device
from harness.steps import raw_expect

LINES = 100000			# 78 bytes each: about 7.8 MB (Postfix takes 10)
STALL = 3			# seconds the upstream reads nothing
MAX_GROWTH = 2 * 1024 * 1024	# what the relay may add to its RSS meanwhile


def message(msgid):
    """The big message (CRLF, no line starting with a dot)."""
    head = ("From: scanner@example.test\r\nTo: inbox@example.test\r\n"
            "Subject: tlsrelay big %s\r\nMessage-ID: <%s@relay.test>\r\n\r\n"
            "id: %s\r\n" % (msgid, msgid, msgid))
    return (head + "".join("line %06d %s\r\n" % (n, "y" * 64)
                           for n in range(LINES))).encode()


def body_digest(data):
    """SHA-256 of what follows the id line (LF line ends)."""
    data = data.replace(b"\r\n", b"\n")
    return hashlib.sha256(data[data.index(b"\nline 000000 "):]).hexdigest()


def client(ctx):
    proxy = ctx.upstreams["smtp"].server
    c = ctx.raw("smtp")
    ctx.check(c.reply()[0] == 220, "greeting")
    raw_expect(ctx, c, "EHLO scanner.lan", 250, "EHLO")
    raw_expect(ctx, c, "AUTH PLAIN " + b64("\0%s\0%s" % (
        ctx.user, ctx.password)), 235, "AUTH PLAIN")
    raw_expect(ctx, c, "MAIL FROM:<%s>" % ctx.user, 250, "MAIL FROM")
    raw_expect(ctx, c, "RCPT TO:<inbox@example.test>", 250, "RCPT TO")
    raw_expect(ctx, c, "DATA", 354, "DATA")
    data = message(ctx.msgid)
    proxy.pause()
    watch = RssWatch(ctx.relay).start()
    sender = threading.Thread(target=c.sock.sendall,
                              args=(data + b".\r\n",), daemon=True)
    sender.start()
    time.sleep(STALL)
    stalled = watch.peak - watch.base
    proxy.resume()
    sender.join(60)
    ctx.check(not sender.is_alive(), "the device could not send the "
              "message within 60 s of the upstream reading again")
    code, lines = c.reply(60)
    peak = watch.stop()
    ctx.note("relay RSS %d KB before DATA, +%d KB while the upstream "
             "stalled, +%d KB at most" % (watch.base // 1024,
                                          stalled // 1024,
                                          (peak - watch.base) // 1024))
    ctx.check(code == 250, "end of DATA: %r" % lines)
    ctx.check(watch.bounded(peak - watch.base, MAX_GROWTH), "the relay's RSS grew by %d "
              "KB while the upstream read slowly (limit %d KB): no "
              "backpressure" % ((peak - watch.base) // 1024,
                                MAX_GROWTH // 1024))
    raw_expect(ctx, c, "QUIT", 221, "QUIT")
    path = ctx.postfix.wait_message(ctx.msgid, 30)
    ctx.check(path is not None, "message %s not delivered" % ctx.msgid)
    with open(path, "rb") as f:
        got = f.read()
    os.remove(path)			# keeps later cases' maildir scans short
    ctx.check(body_digest(got) == body_digest(data),
              "the delivered message differs from the one sent (%d bytes "
              "delivered, %d sent)" % (len(got), len(data)))


CASE = Case(
    "8 MB DATA while the upstream stalls: relay RSS bounded "
    "(backpressure), message intact",
    client,
    upstream="postfix-proxy",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    log={"event": "end", "result": "ok", "messages": "1"},
    upstream_connections=1,
)
