"""An unknown client on an implicit-TLS listener gets no TLS handshake:
the relay only reads its ClientHello (here split over two writes) for the
census, answers nothing and closes. Such waits are capped per address:
of 6 silent connections from one address, 4 wait up to 3 seconds for a
hello and the other 2 are closed at once."""

import selectors
import socket
import ssl
import time

from harness.case import Case
from harness.register import wait_census
from harness.relay import device

SILENT = 6
PER_ADDRESS = 4		# HELLO_SNIFF_PER_ADDRESS
WAIT = 3		# HELLO_SNIFF_TIMEOUT, seconds


def client_hello():
    """The bytes of a TLS 1.3 ClientHello, made without any socket."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def closed_after(sock, start):
    """Seconds from start until the relay closed sock, or None."""
    sock.settimeout(WAIT + 3)
    try:
        data = sock.recv(1)
    except TimeoutError:
        return None
    except OSError:
        data = b""		# reset: closed too
    return time.monotonic() - start if data == b"" else None


def close_times(socks, start):
    """Seconds from start until the relay closed each socket, watched
    together (99 for one still open after the wait)."""
    times, sel = [], selectors.DefaultSelector()
    for c in socks:
        sel.register(c, selectors.EVENT_READ)
    while sel.get_map() and time.monotonic() - start < WAIT + 3:
        for key, _ in sel.select(timeout=0.2):
            sel.unregister(key.fileobj)
            times.append(time.monotonic() - start)
    for c in socks:
        c.close()
    return sorted(times + [99] * (len(socks) - len(times)))


def sniff_hello(ctx):
    """Send a hello in two parts; nothing may come back."""
    hello = client_hello()
    s = socket.create_connection(("127.0.0.1", ctx.port("smtps")),
                                 timeout=5, source_address=("127.0.0.4", 0))
    start = time.monotonic()
    s.sendall(hello[:3])
    time.sleep(0.3)
    s.sendall(hello[3:])
    took = closed_after(s, start)
    s.close()
    ctx.check(took is not None and took < WAIT,
              "hello sender closed without a reply before the wait ends: %r"
              % took)


def caps(ctx):
    """Silent connections from one address over the cap close at once."""
    socks = [socket.create_connection(("127.0.0.1", ctx.port("smtps")),
                                      timeout=5,
                                      source_address=("127.0.0.2", 0))
             for _ in range(SILENT)]
    start = time.monotonic()
    times = close_times(socks, start)
    early = [t for t in times if t < 1]
    waited = [t for t in times if WAIT - 1 <= t < WAIT + 2]
    ctx.check(len(early) == SILENT - PER_ADDRESS and
              len(waited) == PER_ADDRESS,
              "close times (s) %r: want %d at once, %d after about %d s"
              % (times, SILENT - PER_ADDRESS, PER_ADDRESS, WAIT))


def client(ctx):
    sniff_hello(ctx)
    caps(ctx)
    want = ("127.0.0.4 listener=smtps protocol=smtp offered_tls=TLSv1.3 ",
            "127.0.0.2 listener=smtps protocol=smtp offered_tls=none ")
    wait_census(ctx, want)
    ctx.check(not any("lan_tls_failed" in l for l in ctx.relay.lines()),
              "an unknown client got a TLS handshake")


CASE = Case(
    "unknown clients on SMTPS: ClientHello read for the census without a "
    "handshake, 4 waits per address, the rest closed at once",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=0,
)
