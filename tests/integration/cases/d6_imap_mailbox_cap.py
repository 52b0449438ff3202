"""limits.max_mailbox_sessions = 2 over IMAP: while two sessions of a
mailbox are logged in upstream, a third login (AUTHENTICATE PLAIN, its
name in other case) gets NO [INUSE] under its tag and event=mailbox_busy
and never reaches Dovecot; that connection may then log in to another
mailbox, and once a session ends its place is free again, for a
connection that was refused too."""

import base64

from harness.case import Case
from harness.dovecot import OTHER_PASSWORD, OTHER_USER, login_count
from harness.imap import connect, expect_ok, imap_dovecot, logout, raw
from harness.relay import device
from harness.steps import expect_dovecot_logins

BUSY = "NO [INUSE] Too many sessions for this mailbox, try again later"


def login(ctx, c, tag, user, password):
    """LOGIN with quoted strings; the tagged answer."""
    lines = c.command(tag, 'LOGIN "%s" "%s"' % (user, password))
    ctx.check(lines and lines[-1].startswith(tag + " "),
              "no tagged answer to LOGIN: %r" % lines)
    return lines[-1]


def busy_plain(ctx, c, tag, user, what):
    """AUTHENTICATE PLAIN as user must get exactly NO [INUSE]."""
    ir = base64.b64encode(("\0%s\0%s" % (user, ctx.password)).encode())
    ctx.secrets.add(ir.decode())
    last = c.command(tag, "AUTHENTICATE PLAIN " + ir.decode())[-1:]
    ctx.check(last == ["%s %s" % (tag, BUSY)], "%s: %r" % (what, last))


def client(ctx):
    log = imap_dovecot(ctx.run).log
    before = login_count(log, "imap", ctx.user)
    held = []
    for n in range(2):
        imap = connect(ctx, "imaps")
        expect_ok(ctx, imap.login(ctx.user, ctx.password), "login %d" % n)
        held.append(imap)

    third = raw(ctx, "imaps")
    ctx.check(third.line().startswith("* OK "), "no greeting")
    busy_plain(ctx, third, "A1", ctx.user.upper(), "third login")
    line = ctx.relay.wait_session(5, event="mailbox_busy")
    ctx.check(line is not None and line.get("device") == "mfp-1" and
              line.get("user") == ctx.user.upper() and
              line.get("limit") == "2", "mailbox_busy line: %r" % line)
    ctx.check_sunset(line)
    lines = third.command("A2", "SELECT INBOX")
    ctx.check(lines[-1].startswith("A2 BAD"), "SELECT after [INUSE]: %r"
              % lines)
    ctx.secrets.add(OTHER_PASSWORD)
    last = login(ctx, third, "A3", OTHER_USER, OTHER_PASSWORD)
    ctx.check(last.startswith("A3 OK"), "another mailbox on the refused "
              "connection: %r" % last)
    ctx.check(third.command("A4", "LOGOUT")[-1].startswith("A4 OK"),
              "LOGOUT of the other mailbox")

    waiting = raw(ctx, "imaps")
    ctx.check(waiting.line().startswith("* OK "), "no greeting")
    last = login(ctx, waiting, "B1", ctx.user, ctx.password)
    ctx.check(last == "B1 " + BUSY, "fourth login: %r" % last)
    logout(ctx, held.pop(0))
    ctx.check(ctx.relay.wait_session(10, event="end", result="ok",
                                     user=ctx.user) is not None,
              "no end line for the first session")
    last = login(ctx, waiting, "B2", ctx.user, ctx.password)
    ctx.check(last.startswith("B2 OK"), "fourth login again after the "
              "first session ended: %r" % last)
    lines = waiting.command("B3", "SELECT INBOX")
    ctx.check(lines[-1].startswith("B3 OK"), "SELECT: %r" % lines)

    last = raw(ctx, "imaps")
    ctx.check(last.line().startswith("* OK "), "no greeting")
    busy_plain(ctx, last, "C1", ctx.user, "fifth login, two sessions again")
    ctx.check(last.command("C2", "LOGOUT")[-1].startswith("C2 OK"),
              "LOGOUT after [INUSE]")
    ctx.check(ctx.relay.wait_session(
        10, event="end", result="upstream_error",
        reason="too many sessions for this mailbox (limit 2)") is not None,
        "no end line for the refused session")
    logout(ctx, held.pop(0))
    ctx.check(waiting.command("B4", "LOGOUT")[-1].startswith("B4 OK"),
              "LOGOUT of the fourth session")
    expect_dovecot_logins(ctx, log, "imap", before, 3)


def settings(s):
    s["limits"]["max_mailbox_sessions"] = 2


CASE = Case(
    "max_mailbox_sessions=2: 3rd IMAP login -> NO [INUSE], mailbox_busy; "
    "freed at the end of a session",
    client,
    protocols=("imap",),
    devices=[device("mfp-1", "127.0.0.1", protocols=("imap",))],
    settings=settings,
    log={"event": "mailbox_busy", "device": "mfp-1", "limit": "2"},
)
