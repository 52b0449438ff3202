"""Sessions after the first resume the upstream TLS session, also when the
upstream closed first (after QUIT), which OpenSSL takes as unclean."""

from harness.case import Case
from harness.clients import auth_plain
from harness.relay import device

SESSIONS = 3


def client(ctx):
    for i in range(SESSIONS):
        s, greeting = ctx.smtp("smtps")
        ctx.expect_code(greeting, 220, "greeting %d" % (i + 1))
        ctx.ehlo(s)
        ctx.expect_code(auth_plain(s, ctx.user, ctx.password), 235,
                        "AUTH PLAIN %d" % (i + 1))
        ctx.send(s)
        ctx.expect_code(s.quit(), 221, "QUIT %d" % (i + 1))
        ctx.relay.wait_sessions(i + 1, event="end", result="ok")
    resumed = [l.rsplit("resumed=", 1)[1] for l in ctx.relay.lines()
               if " upstream TLS " in l and "resumed=" in l]
    ctx.check(len(resumed) == SESSIONS, "%d upstream handshakes logged, "
              "not %d" % (len(resumed), SESSIONS))
    ctx.check(resumed[1:] == ["yes"] * (SESSIONS - 1),
              "upstream sessions resumed: %s (the first is full, every "
              "later one resumes)" % ", ".join(resumed))


CASE = Case(
    "3 SMTPS sessions in a row: the 2nd and 3rd resume the upstream TLS "
    "session (-d trace resumed=yes)",
    client,
    upstream="postfix",
    devices=[device("ups-1", "127.0.0.1")],
    debug=True,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1", "device": "ups-1",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
