"""kill -9 of tlsrelayd while sessions are recorded leaves a database that
SQLite finds intact and tlsrelayctl reads; restarted, the daemon goes on
writing to it."""

import signal
import threading

from harness import clients
from harness.case import Case
from harness.register import ctl, integrity, wait_row
from harness.relay import device
from harness.steps import plain_auth_and_send


def load(ctx, port, stop):
    """Send messages on connections of its own (a Context is not shared
    between threads) until stop is set or the relay is gone."""
    while not stop.is_set():
        s = None
        try:
            s, _ = clients.smtp_connect(port)
            s.ehlo("scanner.lan")
            clients.auth_plain(s, ctx.user, ctx.password)
            clients.send_message(s, clients.unique_id("r5"))
        except Exception:
            return	# the relay was killed under us
        finally:
            if s is not None:
                clients.close_quietly(s)


def client(ctx):
    stop = threading.Event()
    workers = [threading.Thread(target=load,
                                args=(ctx, ctx.port("smtp"), stop))
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
