"""Exchange Online refuses the relay's own XOAUTH2 login over IMAP ("NO
AUTHENTICATE failed."): the oauth2 device gets NO [UNAVAILABLE] naming the
refusal under its own tag, the log one upstream_refusal line (code
imap_logon_denied, the upstream's line as it came, what it means and what
to do), and the refused token leaves the cache (token_rejected; the next
login fetches a new one). The device tries twice on one connection (LOGIN,
then AUTHENTICATE PLAIN): the fault upstream refuses the first SASL-IR
login at once, as Exchange does, and the second after an XOAUTH2 error
challenge, which the relay answers with an empty line and names in its
reason; the session goes on to LOGOUT."""

import base64
import re

from harness.case import Case
from harness.fixtures import tokens
from harness.imap import ERROR_CHALLENGE, EXCHANGE_REFUSAL, login_tagged, raw
from harness.oauth import DEVICE_SECRET, MAILBOX, \
    expect_refusals_explained, oauth_device, xoauth2
from harness.steps import expect_per_login

DEVICE = "mfp-oauth"
DEVICE_REPLY = ("NO [UNAVAILABLE] Exchange Online refused the relay's "
                "login (AUTHENTICATE failed); the relay's administrator "
                "has been told")
MEANING = ("Exchange Online refused the login with the mailbox's app "
           "token (AuthFailed:LogonDenied): the app's service principal is "
           "missing or has no FullAccess on the mailbox.")
ACTION = ("Grant IMAP.AccessAsApp with admin consent, run "
          "\"New-ServicePrincipal -AppId <app id> -ObjectId <enterprise "
          "application object id>\" and \"Add-MailboxPermission -Identity "
          "<mailbox> -User <service principal id> -AccessRights "
          "FullAccess\".")
REASON = ("upstream refused the token for %s (check the service "
          "principal's mailbox permission): " % MAILBOX)


def refused_reason(value):
    """the token refusal with the relay's tag and Exchange's words"""
    return re.fullmatch(re.escape(REASON) + r"tr\d+ "
                        + re.escape(EXCHANGE_REFUSAL), value) is not None


def client(ctx):
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    last = login_tagged(ctx, c, password=DEVICE_SECRET)
    ctx.check(last == "A1 " + DEVICE_REPLY, "LOGIN: %r, expected %r"
              % (last, "A1 " + DEVICE_REPLY))
    c.send("A2 AUTHENTICATE PLAIN\r\n")
    cont = c.line()
    ctx.check(cont is not None and cont.startswith("+"),
              "AUTHENTICATE PLAIN: %r, expected +" % cont)
    c.send(base64.b64encode(("\0%s\0%s" % (MAILBOX, DEVICE_SECRET))
                            .encode()) + b"\r\n")
    lines = c.until_tagged("A2")
    ctx.check(lines[-1:] == ["A2 " + DEVICE_REPLY],
              "AUTHENTICATE PLAIN: %r, expected %r"
              % (lines, "A2 " + DEVICE_REPLY))
    lines = c.command("A3", "LOGOUT")
    ctx.check(lines[-1].startswith("A3 OK") and lines[0].startswith(
        "* BYE"), "LOGOUT: %r" % lines)
    ctx.close_clients()

    # What the relay sent: SASL-IR XOAUTH2 with a fresh token each time,
    # an empty answer to the error challenge, never a password.
    fault = ctx.faults["imap"]
    issued = ctx.tokens.issued()
    ctx.check(len(issued) == 2 and issued[0] != issued[1],
              "the token server issued %d token(s), expected 2 different "
              "ones (the refused one dropped)" % len(issued))
    tags = []
    for i, transcript in enumerate(fault.transcripts):
        sent = [text for d, text in transcript if d == "C"]
        tag = sent[1].split(" ")[0] if len(sent) > 1 else "?"
        tags.append(tag)
        ok = len(sent) == 2 + i and re.fullmatch(
            r"tr\d+ CAPABILITY", sent[0]) and sent[1] == \
            "%s AUTHENTICATE XOAUTH2 %s" % (tag, xoauth2(MAILBOX, issued[i]))
        ctx.check(ok and sent[2:] == [""] * i, "connection %d: the relay "
                  "sent %r, expected CAPABILITY, AUTHENTICATE XOAUTH2 with "
                  "token %d%s" % (i + 1, [t[:30] for t in sent], i + 1,
                                  ", an empty line" if i else ""))

    # The log: per login, login_failed with the refusal (and the
    # challenge), upstream_refusal with the explanation, token_rejected.
    failed = expect_per_login(ctx, "login_failed", [
        {"device": DEVICE, "user": MAILBOX, "result": "auth_failed",
         "reason": REASON + "%s %s" % (tag, EXCHANGE_REFUSAL) +
         ("; " + ERROR_CHALLENGE if i else "")}
        for i, tag in enumerate(tags)])
    expect_refusals_explained(ctx, [
        {"session": failed[0].get("session"), "device": DEVICE,
         "code": "imap_logon_denied",
         "reply": "%s %s" % (tag, EXCHANGE_REFUSAL),
         "meaning": MEANING, "action": ACTION} for tag in tags])


CASE = Case(
    "XOAUTH2 refused by Exchange over IMAP (at once, after a challenge) -> "
    "NO [UNAVAILABLE] naming it, upstream_refusal imap_logon_denied, "
    "token dropped",
    client,
    protocols=("imap",),
    upstream={"imap": "exchange-xoauth2"},
    fixtures=[tokens(token_requests=2)],
    devices=[oauth_device(DEVICE, protocols=("imap",))],
    upstream_connections=2,
    log={"event": "end", "result": "auth_failed", "device": DEVICE,
         "protocol": "imap", "reason": lambda v: v.startswith(REASON)},
)
