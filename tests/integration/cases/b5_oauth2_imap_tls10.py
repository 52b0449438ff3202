"""oauth2 device over IMAPS at TLS 1.0: LOGIN and AUTHENTICATE PLAIN with
the device secret, XOAUTH2 to Dovecot, FETCH of a known message."""

from harness.case import Case
from harness.clients import make_message, unique_id
from harness.fixtures import tokens
from harness.imap import connect, expect_ok, logout
from harness.oauth import DEVICE_SECRET, MAILBOX, oauth_device
from harness.steps import imap_login

KNOWN = unique_id("b5-known")


def fetch_known(ctx, imap):
    """SELECT INBOX, find the known message and FETCH it whole."""
    expect_ok(ctx, imap.select("INBOX", readonly=True), "SELECT INBOX")
    found = expect_ok(ctx, imap.search(None, "BODY", KNOWN), "SEARCH")
    ctx.check(found and found[0].split(), "SEARCH found no known message")
    data = expect_ok(ctx, imap.fetch(found[0].split()[0], "(BODY.PEEK[])"),
                     "FETCH")
    ctx.check(data[0][1] == make_message(KNOWN).encode(),
              "FETCH did not return the known message: %r" % data[0][:1])


def client(ctx):
    imap, (typ, text) = imap_login(ctx)
    ctx.check(typ == "OK", "LOGIN with the device secret: %s %r"
              % (typ, text))
    fetch_known(ctx, imap)
    logout(ctx, imap)

    imap = connect(ctx, "imaps")
    blob = "\0%s\0%s" % (MAILBOX, DEVICE_SECRET)
    expect_ok(ctx, imap.authenticate("PLAIN", lambda _: blob.encode()),
              "AUTHENTICATE PLAIN with the device secret")
    fetch_known(ctx, imap)
    logout(ctx, imap)


CASE = Case(
    "oauth2 device, IMAPS at TLS 1.0: LOGIN and AUTHENTICATE PLAIN -> "
    "XOAUTH2 to Dovecot, FETCH a known message",
    client,
    protocols=("imap",),
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth", protocols=("imap",))],
    seed=[(KNOWN, make_message(KNOWN))],
    upstream_connections=2,
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "mfp-oauth", "user": MAILBOX, "lan_tls": "TLSv1",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
