"""50 devices log in at once while the token endpoint is slow: exactly one
token request, never two in flight; a second wave uses the cached token."""

import threading

from harness.case import Case
from harness.clients import auth_plain, close_quietly, smtp_connect
from harness.fixtures import tokens
from harness.oauth import DEVICE_SECRET, MAILBOX, oauth_device

WAVE = 50


def login(ctx, results, i):
    """One device session: EHLO, AUTH PLAIN, QUIT; records the AUTH code."""
    s = None
    try:
        s, greeting = smtp_connect(ctx.port("smtp"))
        s.ehlo("scanner%d.lan" % i)
        results[i] = auth_plain(s, MAILBOX, DEVICE_SECRET)
    except Exception as e:
        results[i] = (None, repr(e))
    finally:
        if s is not None:
            close_quietly(s)


def wave(ctx, what):
    """WAVE concurrent logins; every one must get 235."""
    results = [None] * WAVE
    threads = [threading.Thread(target=login, args=(ctx, results, i))
               for i in range(WAVE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    bad = [(i, r) for i, r in enumerate(results) if not r or r[0] != 235]
    ctx.check(not bad, "%s: %d of %d logins failed, e.g. %r"
              % (what, len(bad), WAVE, bad[:3]))


def client(ctx):
    ctx.secrets.add(DEVICE_SECRET)
    ctx.tokens.mode, ctx.tokens.delay = "slow", 1.0
    wave(ctx, "first wave")
    ctx.check(ctx.tokens.count == 1, "first wave: %d token requests, "
              "expected 1" % ctx.tokens.count)
    ctx.check(ctx.tokens.max_in_flight == 1, "%d token requests in "
              "flight at once" % ctx.tokens.max_in_flight)
    wave(ctx, "second wave")
    sessions = ctx.relay.wait_sessions(2 * WAVE, 20, event="end",
                                       result="ok")
    ctx.check(len(sessions) == 2 * WAVE, "%d of %d sessions ended ok"
              % (len(sessions), 2 * WAVE))


def limits(settings):
    settings["limits"]["max_sessions_per_device"] = 2 * WAVE


CASE = Case(
    "single flight: 50 concurrent oauth2 logins (slow token endpoint) -> "
    "1 token request; a second wave reuses it",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth", plaintext_auth=True)],
    listeners=("smtp",),
    settings=limits,
    upstream_connections=2 * WAVE,
)
