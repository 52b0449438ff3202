"""limits.data_timeout: a body trickled one byte a second keeps the idle
timer from firing, but the message's DATA as a whole gets data_timeout:
then the device hears 451 4.4.2 ... not delivered, the session ends, and
the upstream (dropped without the end of data) delivers nothing."""

import time

from harness.case import Case
from harness.relay import device
from harness.steps import ready_for_data

IDLE = 2		# seconds (limits.idle_timeout)
DATA = 4		# seconds (limits.data_timeout)


def client(ctx):
    s = ready_for_data(ctx)
    ctx.expect_code(s.docmd("DATA"), 354, "DATA")
    started = time.monotonic()
    s.send(("Subject: %s\r\n\r\n" % ctx.msgid).encode())
    s.sock.settimeout(0.1)
    got = b""
    while time.monotonic() - started < DATA + 4 and b"\n" not in got:
        try:
            s.sock.send(b"x")
            got += s.sock.recv(512)
        except TimeoutError:
            time.sleep(0.9)
        except OSError:
            break
    took = time.monotonic() - started
    ctx.check(got.startswith(b"451 4.4.2 ") and b"not delivered" in got,
              "trickled body: expected 451 4.4.2 ... not delivered, got %r"
              % got)
    ctx.check(DATA - 0.5 <= took <= DATA + 2, "451 came %.1f s after 354,"
              " data_timeout is %d s" % (took, DATA))
    line = ctx.relay.wait_session(5, event="message", result="rejected")
    ctx.check(line is not None and "data_timeout" in line.get("reason", ""),
              "no event=message result=rejected line naming data_timeout")
    time.sleep(2)			# Postfix would have queued it by now


def settings(s):
    s["limits"]["idle_timeout"] = IDLE
    s["limits"]["data_timeout"] = DATA


CASE = Case(
    "body trickled past data_timeout (each byte within idle_timeout) -> "
    "451 4.4.2 not delivered, result=timeout, nothing delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    delivered=False,
    log={"event": "end", "result": "timeout", "device": "scanner-1",
         "messages": "0", "reason": lambda v: "data_timeout" in v},
)
