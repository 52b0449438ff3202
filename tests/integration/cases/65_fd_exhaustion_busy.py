"""Out of descriptors: a client is answered at once with the temporary
refusal (421 4.7.0 ... out of resources) from the reserve descriptor
instead of waiting in the kernel's backlog, and counted in /metrics as a
refusal with reason out_of_descriptors; as soon as a session ends the
next client is served, without a fixed pause."""

import os
import resource
import time

from harness.case import Case
from harness.metrics import add_metrics, http, parse, promtool_check, value
from harness.relay import device


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def greeting(ctx, timeout=3):
    c = ctx.raw("smtp")
    return c, c.reply(timeout)


def client(ctx):
    pid = ctx.relay.proc.pid
    limit = open_fds(pid) + 1		# room for one more session
    saved = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, saved[1]))
    first, (code, lines) = greeting(ctx)
    ctx.check(code == 220, "first client within the limit: %r" % lines)
    started = time.monotonic()
    busy, (code, lines) = greeting(ctx)
    ctx.check(code == 421 and lines[-1].startswith("421 4.7.0 ") and
              "out of resources" in lines[-1],
              "client over the descriptor limit: expected 421 4.7.0 ... out "
              "of resources, got %r" % lines)
    ctx.check(time.monotonic() - started < 1, "the busy reply took %.1f s"
              % (time.monotonic() - started))
    closed, _ = busy.wait_closed(3)
    ctx.check(closed, "the busy client's connection was left open")
    first.send("QUIT\r\n")
    ctx.check(first.reply(3)[0] == 221, "QUIT")
    first.wait_closed(3)
    started = time.monotonic()
    after, (code, lines) = greeting(ctx)
    took = time.monotonic() - started
    ctx.check(code == 220, "client after a session ended: %r" % lines)
    ctx.check(took < 0.5, "served %.2f s after a session ended" % took)
    after.send("QUIT\r\n")
    after.reply(3)
    ctx.check(any("answered busy" in l for l in ctx.relay.lines()),
              "no log line about the connection answered busy")
    resource.prlimit(pid, resource.RLIMIT_NOFILE, saved)
    status, page = http(ctx.relay, "/metrics")
    ok, out = promtool_check(page)
    ctx.check(status == 200 and ok is not False,
              "/metrics %s, promtool: %s" % (status, out))
    shed = value(parse(page), "tlsrelayd_refusals_total", protocol="smtp",
                 reason="out_of_descriptors")
    ctx.check(shed == 1, "refusals_total{out_of_descriptors} is %s, want 1"
              % shed)


CASE = Case(
    "descriptor limit reached -> 421 4.7.0 out of resources at once from the "
    "reserve descriptor; served again as soon as a session ends",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=0,
    settings=add_metrics,
    log=None,
)
