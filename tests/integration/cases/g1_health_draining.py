"""/health is 200 while serving and 503 once SIGTERM starts the drain,
while a session finishes; then tlsrelayd exits 0."""

import signal

from harness.case import Case
from harness.metrics import add_metrics, http
from harness.relay import device


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.check(http(ctx.relay, "/health") == (200, "serving\n"),
              "/health before SIGTERM: %r" % (http(ctx.relay, "/health"),))
    mark = len(ctx.relay.lines())
    ctx.relay.signal(signal.SIGTERM)
    ctx.relay.wait_line(lambda l: "shutting down: 1 sessions" in l, 5,
                        since=mark, what="'shutting down: 1 sessions'")
    got = http(ctx.relay, "/health")
    ctx.check(got == (503, "draining\n"), "/health while draining: %r"
              % (got,))
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT during the drain")
    status = ctx.relay.wait_exit(10)
    ctx.check(status == 0, "exit status %s after the drain" % status)


CASE = Case(
    "/health: 200 serving, 503 draining after SIGTERM, exit 0",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=add_metrics,
    log={"event": "end", "result": "ok", "device": "scanner-1"},
)
