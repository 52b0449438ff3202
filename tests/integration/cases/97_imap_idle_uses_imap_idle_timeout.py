"""After login IMAP uses limits.imap_idle_timeout, not limits.idle_timeout:
an IDLE outlives idle_timeout, and imap_idle_timeout ends a silent session
with "* BYE"."""

import time

from harness.case import Case
from harness.imap import connect, expect_ok
from harness.relay import device

IDLE_SECONDS = 4	# longer than idle_timeout, shorter than imap's


def settings(s):
    s["limits"]["idle_timeout"] = 2
    s["limits"]["imap_idle_timeout"] = 6


def idle(ctx, imap):
    """IDLE for IDLE_SECONDS, then DONE: the session must still be up."""
    imap.send(b"I1 IDLE\r\n")
    line = imap.readline().decode().rstrip()
    ctx.check(line.startswith("+"), "IDLE: no continuation: %r" % line)
    time.sleep(IDLE_SECONDS)
    imap.send(b"DONE\r\n")
    while True:
        line = imap.readline().decode().rstrip()
        ctx.check(line, "the relay closed the IDLE session after %d s "
                  "(idle_timeout 2 s, imap_idle_timeout 6 s)" % IDLE_SECONDS)
        ctx.check("BYE" not in line, "BYE during IDLE: %r" % line)
        if line.startswith("I1 "):
            break
    ctx.check(line.startswith("I1 OK"), "IDLE completion: %r" % line)


def client(ctx):
    imap = connect(ctx, "imaps")
    expect_ok(ctx, imap.login(ctx.user, ctx.password), "LOGIN")
    expect_ok(ctx, imap.select("INBOX"), "SELECT")
    idle(ctx, imap)
    started = time.monotonic()
    seen = []
    while True:
        line = imap.readline().decode().rstrip()
        if not line:
            break
        seen.append(line)
    took = time.monotonic() - started
    ctx.check(any(l.startswith("* BYE") for l in seen),
              "no BYE before the close: %r" % seen)
    ctx.check(5 <= took <= 12, "closed after %.1f s of silence, expected "
              "about 6 s (imap_idle_timeout)" % took)


CASE = Case(
    "IDLE 4 s with idle_timeout=2 stays up; imap_idle_timeout=6 ends it",
    client,
    protocols=("imap",),
    settings=settings,
    devices=[device("mfp-3", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "timeout", "protocol": "imap",
         "device": "mfp-3", "reason": "device idle too long"},
)
