"""limits.max_mailbox_sessions = 2 over POP3: while two sessions of a
mailbox are logged in upstream, a third login (its name in other case)
gets -ERR [IN-USE] and event=mailbox_busy and never reaches Dovecot; that
connection may then log in to another mailbox, and once a session ends
its place is free again, for a connection that was refused too."""

from harness.case import Case
from harness.dovecot import OTHER_PASSWORD, OTHER_USER, login_count
from harness.pop3 import connect, expect_err, login, session_end
from harness.relay import device
from harness.steps import expect_dovecot_logins

BUSY = "-ERR [IN-USE] Too many sessions for this mailbox, try again later"


def busy(ctx, p, user, what):
    """USER/PASS as user must get exactly the IN-USE reply."""
    p.user(user)
    text = expect_err(ctx, lambda: p.pass_(ctx.password), "IN-USE", what)
    ctx.check(text == BUSY, "%s: %r" % (what, text))


def client(ctx):
    log = ctx.mailbox.dovecot.log
    before = login_count(log, "pop3", ctx.user)
    first = connect(ctx, "pop3s", tls="implicit")
    ctx.check(login(ctx, first).startswith(b"+OK"), "first login")
    second = connect(ctx, "pop3", tls="stls")
    ctx.check(login(ctx, second).startswith(b"+OK"), "second login")

    third = connect(ctx, "pop3s", tls="implicit")
    busy(ctx, third, ctx.user.upper(), "third login (upper case)")
    line = ctx.relay.wait_session(5, event="mailbox_busy")
    ctx.check(line is not None and line.get("device") == "scanner-1" and
              line.get("user") == ctx.user.upper() and
              line.get("limit") == "2", "mailbox_busy line: %r" % line)
    ctx.check_sunset(line)
    expect_err(ctx, lambda: third.stat(), None, "STAT after [IN-USE]")
    ctx.secrets.add(OTHER_PASSWORD)
    third.user(OTHER_USER)
    ctx.check(third.pass_(OTHER_PASSWORD).startswith(b"+OK"),
              "another mailbox on the refused connection")
    ctx.check(third.quit().startswith(b"+OK"), "QUIT of the other mailbox")

    waiting = connect(ctx, "pop3s", tls="implicit")
    busy(ctx, waiting, ctx.user, "fourth login")
    ctx.check(first.stat()[0] == 3, "STAT of the first session")
    ctx.check(first.quit().startswith(b"+OK"), "QUIT of the first session")
    session_end(ctx, result="ok", user=ctx.user)
    ctx.check(login(ctx, waiting).startswith(b"+OK"),
              "fourth login again after the first session ended")
    ctx.check(waiting.stat()[0] == 3, "STAT of the fourth session")

    last = connect(ctx, "pop3s", tls="implicit")
    busy(ctx, last, ctx.user, "fifth login, two sessions again")
    ctx.check(last.quit().startswith(b"+OK"), "QUIT after [IN-USE]")
    session_end(ctx, result="upstream_error",
                reason="too many sessions for this mailbox (limit 2)")
    for p in (second, waiting):
        ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    expect_dovecot_logins(ctx, log, "pop3", before, 3)


def settings(s):
    s["limits"]["max_mailbox_sessions"] = 2


CASE = Case(
    "max_mailbox_sessions=2: 3rd POP3 login -> -ERR [IN-USE], "
    "mailbox_busy; freed at the end of a session",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    settings=settings,
    log={"event": "mailbox_busy", "device": "scanner-1", "limit": "2"},
)
