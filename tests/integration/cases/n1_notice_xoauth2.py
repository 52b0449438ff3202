"""Owner notices over the smtp route: the relay logs in to the OAuth2
Postfix with XOAUTH2 as notices.mailbox (one token from the token server)
and the 1-day notice reaches the owner's mailbox once."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import MAILBOX
from harness.relay import device, sunset_in

OWNER = "inbox@example.test"
DEVICE = device("ups-1", "127.0.0.2", sunset=sunset_in(0), owner=OWNER)


def client(ctx):
    needle = "<notice.ups-1.%s.1@" % DEVICE["sunset"]
    ctx.check(ctx.postfix.wait_message(needle, 30),
              "the notice never arrived")
    sent = ctx.relay.wait_event(event="notice_sent", device="ups-1")
    ctx.check(sent and sent.get("threshold") == "1",
              "no notice_sent line for threshold 1: %r" % sent)
    ctx.check(len(ctx.postfix.find_message(needle)) == 1,
              "the notice arrived more than once")


def settings(s):
    s["notices"] = {"from": MAILBOX, "route": "smtp", "mailbox": MAILBOX}


CASE = Case(
    "owner notices via the smtp route: XOAUTH2 as notices.mailbox, the "
    "1-day notice delivered once",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[DEVICE],
    settings=settings,
    upstream_connections=1,
)
