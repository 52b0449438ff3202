"""/metrics after POP3 (Dovecot, TLS 1.0), SMTP and IMAP sessions whose
upstream is down, and a refusal: the counts match, the page passes
promtool check metrics, a reload keeps the counters; /health is 200, and
404, 405 and 400 answer the rest; 16 idle connections make a 17th wait
until they close."""

import imaplib

from harness.case import Case
from harness.clients import TIMEOUT
from harness.metrics import (add_metrics, answers_within, http,
                             idle_connections, parse, promtool_check,
                             raw_status, value)
from harness.pop3 import connect, login, retrieve_all
from harness.relay import device
from harness.steps import ctx_auth_plain

DEVICE = "scanner-1"


def sessions(ctx):
    """POP3 through Dovecot, SMTP and IMAP to a down upstream, a refusal."""
    p = connect(ctx, "pop3s", tls="implicit")
    login(ctx, p)
    retrieve_all(ctx, p)
    p.quit()

    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "SMTP greeting")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), range(400, 500),
                    "AUTH with the upstream down")
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")

    i = imaplib.IMAP4("127.0.0.1", ctx.port("imap"), timeout=TIMEOUT)
    try:
        i.login(ctx.user, ctx.password)
        ctx.check(False, "IMAP login succeeded with the upstream down")
    except imaplib.IMAP4.error:
        pass
    i.shutdown()

    _, greeting = ctx.smtp("smtp", source="127.0.0.2")
    ctx.expect_code(greeting, 554, "unknown client")
    ctx.check(len(ctx.relay.wait_sessions(3, event="end")) == 3 and
              ctx.relay.wait_session(5, event="refused") is not None,
              "not three end lines and a refusal")


def check_counts(ctx, m):
    """The page's counters against what the client did."""
    want = [
        ("tlsrelayd_sessions_total", dict(protocol="pop3", result="ok"), 1),
        ("tlsrelayd_sessions_total",
         dict(protocol="smtp", result="upstream_unreachable"), 1),
        ("tlsrelayd_sessions_total",
         dict(protocol="imap", result="upstream_unreachable"), 1),
        ("tlsrelayd_sessions_total", dict(protocol="smtp",
                                          result="refused"), 1),
        ("tlsrelayd_refusals_total", dict(protocol="smtp",
                                          reason="unknown"), 1),
        ("tlsrelayd_upstream_failures_total",
         dict(protocol="smtp", kind="unreachable"), 1),
        ("tlsrelayd_upstream_failures_total",
         dict(protocol="imap", kind="unreachable"), 1),
        ("tlsrelayd_lan_tls_handshakes_total", dict(version="TLSv1"), 1),
        ("tlsrelayd_sessions_active", dict(protocol="pop3"), 0),
        ("tlsrelayd_build_info", None, 1),
    ]
    for name, labels, n in want:
        if labels is None:
            got = sum(v for (k, _), v in m.items() if k == name)
        else:
            got = value(m, name, **labels)
        ctx.check(got == n, "%s%r is %s, expected %s" % (name, labels, got,
                                                        n))
    for proto in ("pop3", "imap"):
        end = next(f for f in ctx.relay.sessions()
                   if f.get("event") == "end" and f.get("protocol") == proto)
        for direction in ("in", "out"):
            got = value(m, "tlsrelayd_bytes_total", protocol=proto,
                        direction=direction)
            ctx.check(got == int(end["bytes_" + direction]),
                      "%s bytes %s: %s, the end line says %s"
                      % (proto, direction, got, end["bytes_" + direction]))
    for proto in ("pop3", "smtp", "imap"):
        ctx.check(value(m, "tlsrelayd_device_last_seen_timestamp_seconds",
                        device=DEVICE, protocol=proto) > 0,
                  "no last_seen for %s" % proto)
    ctx.check(value(m, "tlsrelayd_device_sunset_timestamp_seconds",
                    device=DEVICE) > 0, "no sunset timestamp")
    ctx.check(value(m, "process_open_fds") > 0, "no process_open_fds")


def client(ctx):
    sessions(ctx)
    status, page = http(ctx.relay, "/metrics")
    ctx.check(status == 200, "/metrics: %s" % status)
    ok, out = promtool_check(page)
    ctx.check(ok is not False, "promtool check metrics: %s" % out)
    ctx.note("promtool: %s" % out)
    m = parse(page)
    check_counts(ctx, m)

    ctx.relay.reload()
    m2 = parse(http(ctx.relay, "/metrics")[1])
    ctx.check(value(m2, "tlsrelayd_config_reloads_total", result="ok") == 1,
              "reloads_total{ok} after one reload")
    ctx.check(value(m2, "tlsrelayd_refusals_total", protocol="smtp",
                    reason="unknown") == 1, "counters lost at the reload")

    ctx.check(http(ctx.relay, "/health") == (200, "serving\n"),
              "/health while serving: %r" % (http(ctx.relay, "/health"),))
    ctx.check(http(ctx.relay, "/nope")[0] == 404, "/nope is not 404")
    ctx.check(http(ctx.relay, "/metrics", method="POST",
                   data=b"x=1")[0] == 405, "POST /metrics is not 405")
    ctx.check(raw_status(ctx.relay, b"GARBAGE\r\n\r\n") == 400,
              "a malformed request is not 400")
    ctx.check(raw_status(ctx.relay, b"GET /metrics HTTP/1.1\r\nX: " +
                         b"a" * 10000 + b"\r\n\r\n") in (400, 413, 431,
                                                         None),
              "oversized headers were served")

    idle = idle_connections(ctx.relay, 16)
    ctx.check(not answers_within(ctx.relay, "/health", 2),
              "a 17th connection was served while 16 were open")
    for c in idle:
        c.close()
    ctx.check(answers_within(ctx.relay, "/health", 5),
              "no answer once the 16 idle connections closed")


CASE = Case(
    "/metrics counts SMTP/POP3/IMAP sessions, refusals, upstream failures; "
    "promtool; reload; 404/405/400",
    client,
    protocols=("pop3", "smtp", "imap"),
    upstream={"pop3": "pop3s", "smtp": "down", "imap": "down"},
    listeners=("pop3", "pop3s", "smtp", "imap"),
    devices=[device(DEVICE, "127.0.0.1", protocols=["smtp", "pop3", "imap"],
                    plaintext_auth=True)],
    settings=add_metrics,
)
