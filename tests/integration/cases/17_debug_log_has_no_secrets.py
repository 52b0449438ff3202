"""With -d, AUTH PLAIN and AUTH LOGIN (good and bad) leak no password."""

from harness.case import Case
from harness.clients import auth_login, auth_plain
from harness.relay import device

WRONG = "Wr0ng-Secret-42"


def client(ctx):
    ctx.secrets.add(WRONG)
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.starttls(s)
    ctx.expect_code(auth_login(s, ctx.user, WRONG), 535,
                    "AUTH LOGIN, wrong password")
    ctx.expect_code(auth_plain(s, ctx.user, WRONG), 535,
                    "AUTH PLAIN, wrong password")
    ctx.expect_code(auth_plain(s, ctx.user, ctx.password), 235,
                    "AUTH PLAIN")
    ctx.send(s)


CASE = Case(
    "debug logging (-d): no password in the log, message delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1")],
    debug=True,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1"},
)
