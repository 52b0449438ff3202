"""Exchange Online refuses the relay's own XOAUTH2 login over POP3 ("-ERR
Authentication failure: ..."): the oauth2 device gets -ERR [SYS/TEMP]
naming the refusal, the log one upstream_refusal line (code
pop3_logon_denied, the reply as it came, what it means and what to do),
and the refused token leaves the cache (token_rejected; the next login
fetches a new one). The fault upstream refuses the first login at once,
as Exchange does, and the second after an XOAUTH2 error challenge, which
the relay answers with an empty line and names in its reason."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import MAILBOX, expect_refusals_explained, oauth_device, \
    xoauth2
from harness.pop3fault import ERROR_CHALLENGE, EXCHANGE_REFUSAL
from harness.steps import expect_per_login, pop3_login

DEVICE = "mfp-oauth"
DEVICE_REPLY = ("-ERR [SYS/TEMP] Exchange Online refused the relay's login "
                "(Authentication failure); the relay's administrator has "
                "been told")
MEANING = ("Exchange Online refused the login with the mailbox's app "
           "token (AuthFailed:LogonDenied): the app's service principal is "
           "missing or has no FullAccess on the mailbox.")
ACTION = ("Grant POP.AccessAsApp with admin consent, run "
          "\"New-ServicePrincipal -AppId <app id> -ObjectId <enterprise "
          "application object id>\" and \"Add-MailboxPermission -Identity "
          "<mailbox> -User <service principal id> -AccessRights "
          "FullAccess\".")
REASON = ("upstream refused the token for %s (check the service "
          "principal's mailbox permission): %s" % (MAILBOX,
                                                   EXCHANGE_REFUSAL))


def client(ctx):
    for attempt in (1, 2):
        p, reply = pop3_login(ctx)
        ctx.check(reply == DEVICE_REPLY, "PASS, login %d: %r, expected %r"
                  % (attempt, reply, DEVICE_REPLY))
        ctx.check(p.quit().startswith(b"+OK"), "QUIT after login %d"
                  % attempt)
    ctx.close_clients()

    # What the relay sent: two-step XOAUTH2 with a fresh token each time,
    # an empty answer to the error challenge, never a password.
    fault = ctx.faults["pop3"]
    issued = ctx.tokens.issued()
    ctx.check(len(issued) == 2 and issued[0] != issued[1],
              "the token server issued %d token(s), expected 2 different "
              "ones (the refused one dropped)" % len(issued))
    for i, transcript in enumerate(fault.transcripts):
        sent = [text for d, text in transcript if d == "C"]
        want = ["CAPA", "AUTH XOAUTH2", xoauth2(MAILBOX, issued[i])] + \
            ([""] if i == 1 else [])
        ctx.check(sent == want, "connection %d: the relay sent %r, "
                  "expected CAPA, AUTH XOAUTH2, token %d%s"
                  % (i + 1, [t[:20] for t in sent], i + 1,
                     ", an empty line" if i == 1 else ""))

    # The log: per login, login_failed with the refusal (and the
    # challenge), upstream_refusal with the explanation, token_rejected.
    failed = expect_per_login(ctx, "login_failed", [
        {"device": DEVICE, "user": MAILBOX, "result": "auth_failed",
         "reason": reason}
        for reason in (REASON, REASON + "; " + ERROR_CHALLENGE)])
    expect_refusals_explained(ctx, [
        {"session": login.get("session"), "device": DEVICE,
         "code": "pop3_logon_denied", "reply": EXCHANGE_REFUSAL,
         "meaning": MEANING, "action": ACTION} for login in failed])


CASE = Case(
    "XOAUTH2 refused by Exchange over POP3 (at once, after a challenge) -> "
    "-ERR [SYS/TEMP] naming it, upstream_refusal pop3_logon_denied, "
    "token dropped",
    client,
    protocols=("pop3",),
    upstream={"pop3": "exchange-xoauth2"},
    fixtures=[tokens(token_requests=2)],
    devices=[oauth_device(DEVICE, protocols=("pop3",))],
    upstream_connections=2,
    log={"event": "end", "result": "auth_failed", "device": DEVICE,
         "protocol": "pop3", "reason": REASON},
)
