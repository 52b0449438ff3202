"""A device that pipelines commands after login and reads slowly through a
tiny receive buffer: answers stay in order and complete. The big message
(7.6 MB) is more than the kernel buffers take, so the relay's output to the
device passes its high-water mark and the upstream is paused (backpressure).
"""

import socket
import time

from harness.case import Case
from harness.pop3 import RawPop3, check_message, make_messages
from harness.relay import device


def client(ctx):
    ctx.mailbox.seed(make_messages(ctx.case.name, big_lines=100000))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", ctx.port("pop3")))
    c = RawPop3.__new__(RawPop3)
    c.sock, c.buf = sock, b""
    ctx._open.append(c)
    ctx.check(c.line().startswith("+OK"), "greeting")
    c.send("USER %s\r\nPASS %s\r\nRETR 3\r\nSTAT\r\nRETR 1\r\nDELE 1\r\n"
           "TOP 2 0\r\nQUIT\r\n" % (ctx.user, ctx.password))
    time.sleep(2)		# let the relay's output to us fill up
    ctx.check(c.line().startswith("+OK"), "USER")
    ctx.check(c.line().startswith("+OK"), "PASS")
    ctx.check(c.line().startswith("+OK"), "RETR 3")
    check_message(ctx, 2, raw_body(c))
    ctx.check(c.line().startswith("+OK 3 "), "STAT")
    ctx.check(c.line().startswith("+OK"), "RETR 1")
    check_message(ctx, 0, raw_body(c))
    ctx.check(c.line().startswith("+OK"), "DELE 1")
    ctx.check(c.line().startswith("+OK"), "TOP 2 0")
    raw_body(c)
    ctx.check(c.line().startswith("+OK"), "QUIT")
    ctx.check(ctx.mailbox.count() == 2, "DELE 1 + QUIT did not delete")


def raw_body(c):
    """A multi-line answer's lines, dot-stuffing removed, as bytes."""
    return [l[1:].encode() if l.startswith(".") else l.encode()
            for l in c.multi()]


CASE = Case(
    "pipelined RETR/STAT/DELE/TOP/QUIT, slow reader, 700 KB message",
    client,
    protocols=("pop3",),
    devices=[device(
        "scanner-1", "127.0.0.1", protocols=["pop3"], plaintext_auth=True)],
    seed=False,
    log={"event": "end", "result": "ok", "messages": "2"},
)
