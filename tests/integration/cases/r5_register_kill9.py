"""kill -9 of tlsrelayd while sessions are recorded leaves a database that
SQLite finds intact and tlsrelayctl reads; restarted, the daemon goes on
writing to it."""

import signal
import threading

from harness.case import Case
from harness.register import ctl, integrity, wait_row
from harness.relay import device
from harness.steps import plain_auth_and_send


def load(ctx, stop):
    """Send messages one after another until stop is set."""
    while not stop.is_set():
        try:
            plain_auth_and_send(ctx)
        except Exception:
            return	# the relay was killed under us
        finally:
            ctx.close_clients()


def client(ctx):
    stop = threading.Event()
    workers = [threading.Thread(target=load, args=(ctx, stop))
               for _ in range(4)]
    for w in workers:
        w.start()
    wait_row(ctx, "scanner-1", "smtp", lambda r: r["messages"] >= 8,
             "eight messages recorded", timeout=60)
    ctx.relay.proc.send_signal(signal.SIGKILL)
    ctx.relay.wait_exit(10)
    stop.set()
    for w in workers:
        w.join(30)
    ctx.check(integrity(ctx) == "ok", "integrity_check: %s" % integrity(ctx))
    status, out, err = ctl(ctx, "report", "--format", "json")
    ctx.check(status == 0, "report after kill -9: exit %d %s"
              % (status, err))
    before = wait_row(ctx, "scanner-1", "smtp", lambda r: True, "a row")
    ctx.relay.start()
    plain_auth_and_send(ctx)
    wait_row(ctx, "scanner-1", "smtp",
             lambda r: r["messages"] == before["messages"] + 1,
             "the message sent after the restart")


CASE = Case(
    "register: kill -9 under load leaves a readable, intact database",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
)
