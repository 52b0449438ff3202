"""STARTTLS with TLS 1.0, AUTHENTICATE PLAIN, IDLE woken by a delivery."""

import base64

from harness.case import Case
from harness.clients import legacy_context, unique_id
from harness.imap import capabilities, connect, deliver, exists_count, \
    expect_ok, logout
from harness.relay import device


def client(ctx):
    imap = connect(ctx, "imap")
    caps = capabilities(imap)
    ctx.check({"STARTTLS", "LOGINDISABLED"} <= caps and
              "AUTH=PLAIN" not in caps,
              "capabilities before STARTTLS: %s" % sorted(caps))
    expect_ok(ctx, imap.starttls(ssl_context=legacy_context()), "STARTTLS")
    ctx.check(imap.sock.version() == "TLSv1",
              "LAN TLS is %s, not TLSv1" % imap.sock.version())
    caps = capabilities(imap)
    ctx.check("AUTH=PLAIN" in caps and "STARTTLS" not in caps and
              "LOGINDISABLED" not in caps,
              "capabilities after STARTTLS: %s" % sorted(caps))
    blob = ("\0%s\0%s" % (ctx.user, ctx.password)).encode()
    typ, data = imap.authenticate("PLAIN", lambda challenge: blob)
    ctx.check(typ == "OK", "AUTHENTICATE PLAIN: %s %r" % (typ, data))
    before = int(expect_ok(ctx, imap.select("INBOX"), "SELECT")[0])
    imap.send(b"I1 IDLE\r\n")
    line = imap.readline().decode().rstrip()
    ctx.check(line.startswith("+"), "IDLE: no continuation: %r" % line)
    wakeup = unique_id("idle")
    deliver(ctx.run.imap_dovecot, wakeup)
    seen = []
    while True:
        line = imap.readline().decode().rstrip()
        ctx.check(line, "connection closed during IDLE (seen %r)" % seen)
        seen.append(line)
        if (exists_count(line) or 0) > before:
            break
    imap.send(b"DONE\r\n")
    while not line.startswith("I1 "):
        line = imap.readline().decode().rstrip()
        ctx.check(line, "connection closed after DONE")
    ctx.check(line.startswith("I1 OK"), "IDLE completion: %r" % line)
    ctx.note("IDLE saw %r" % seen)
    logout(ctx, imap)
    ctx.secrets.add(base64.b64encode(blob).decode())


CASE = Case(
    "STARTTLS TLS 1.0, AUTHENTICATE PLAIN; IDLE gets EXISTS for a delivery",
    client,
    protocols=("imap",),
    devices=[device("mfp-2", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "mfp-2", "lan_tls": "TLSv1"},
)
