"""Fixture check: the OAuth2 Postfix and Dovecot take XOAUTH2 with a token
the token server issued, refuse a revoked one with the challenge and then
the failure (REFERENCE.md), and still take passwords."""

import base64
import json

from harness.case import Case
from harness.clients import auth_plain, close_quietly, \
    make_message, modern_context, smtp_connect, unique_id
from harness.dovecot import PASSWORD, USER
from harness.imap import RawImap
from harness.oauth import oauth_upstreams, xoauth2
from harness.pop3 import RawPop3
from harness.tokenserver import request_token, secret_form


def challenge_401(ctx, text, what):
    """A base64 JSON challenge with status 401."""
    try:
        body = json.loads(base64.b64decode(text))
    except ValueError:
        body = None
    ctx.check(isinstance(body, dict) and body.get("status") == "401",
              "%s: expected a 401 JSON challenge, got %r" % (what, text))


def smtp(ctx, fx, token, password=False):
    """Postfix submission: AUTH only after STARTTLS, XOAUTH2 offered;
    returns the final AUTH reply (code, text) and the client."""
    s, greeting = smtp_connect(fx.postfix.port, host="localhost")
    ctx._open.append(s)
    ctx.expect_code(greeting, 220, "postfix greeting")
    s.ehlo("fixture.test")
    ctx.check(not s.has_extn("auth"), "AUTH offered before STARTTLS")
    s.starttls(context=modern_context(ctx.pki.ca))
    s.ehlo("fixture.test")
    mechs = s.esmtp_features.get("auth", "").upper().split()
    ctx.check("XOAUTH2" in mechs and "PLAIN" in mechs,
              "postfix AUTH after STARTTLS: %r" % mechs)
    if password:
        return auth_plain(s, USER, PASSWORD), s
    code, text = s.docmd("AUTH", "XOAUTH2 " + xoauth2(USER, token))
    if code == 334:
        challenge_401(ctx, text, "postfix")
        code, text = s.docmd("")
    return (code, text.decode()), s


def imap(ctx, fx, token):
    """IMAPS AUTHENTICATE XOAUTH2 with SASL-IR; the tagged answer."""
    c = RawImap(fx.dovecot.imaps_port,
                tls=modern_context(ctx.pki.ca, hostname_check=False))
    ctx._open.append(c)
    greeting = c.line()
    ctx.check("AUTH=XOAUTH2" in greeting and "SASL-IR" in greeting,
              "IMAPS greeting: %r" % greeting)
    c.send("a AUTHENTICATE XOAUTH2 %s\r\n" % xoauth2(USER, token))
    line = c.line()
    if line.startswith("+ "):
        challenge_401(ctx, line[2:], "imap")
        c.send("\r\n")
        line = c.until_tagged("a")[-1]
    return line


def pop3(ctx, fx, token):
    """POP3S AUTH XOAUTH2 in two steps; the final answer."""
    c = RawPop3(fx.dovecot.pop3s_port)
    c.sock = modern_context(ctx.pki.ca).wrap_socket(
        c.sock, server_hostname="localhost")
    ctx._open.append(c)
    ctx.check(c.line().startswith("+OK"), "POP3S greeting")
    ctx.check("XOAUTH2" in " ".join(c.capa()), "POP3 SASL lacks XOAUTH2")
    ctx.check(c.cmd("AUTH XOAUTH2").rstrip() == "+", "no empty challenge")
    line = c.cmd(xoauth2(USER, token))
    if line.startswith("+ "):
        challenge_401(ctx, line[2:], "pop3")
        line = c.cmd("")
    return line


def client(ctx):
    fx = oauth_upstreams(ctx.run)
    ts = fx.tokens.reset()
    status, body = request_token(ts, ctx.pki.ca, secret_form(ts))
    ctx.check(status == 200, "token request: %s %r" % (status, body))
    token = body["access_token"]

    reply, s = smtp(ctx, fx, token)
    ctx.expect_code(reply, 235, "postfix AUTH XOAUTH2 with a valid token")
    msgid = unique_id("b1")
    s.sendmail(USER, ["inbox@example.test"], make_message(msgid))
    close_quietly(s)
    ctx.check(fx.postfix.wait_message(msgid, 20), "message not delivered")
    line = imap(ctx, fx, token)
    ctx.check(line.startswith("a OK"), "IMAP XOAUTH2: %r" % line)
    line = pop3(ctx, fx, token)
    ctx.check(line.startswith("+OK"), "POP3 XOAUTH2: %r" % line)
    asked = len(ts.introspections)
    ctx.check(asked == 3, "dovecot asked the introspection endpoint %d "
              "times for 3 logins" % asked)

    ts.revoke(token)
    reply, s = smtp(ctx, fx, token)
    ctx.check(reply[0] == 535 and reply[1].startswith("5.7.8"),
              "postfix, revoked token: %r" % (reply,))
    line = imap(ctx, fx, token)
    ctx.check(line.startswith("a NO [AUTHENTICATIONFAILED]"),
              "IMAP, revoked token: %r" % line)
    line = pop3(ctx, fx, token)
    ctx.check(line.startswith("-ERR [AUTH]"), "POP3, revoked token: %r"
              % line)

    reply, s = smtp(ctx, fx, token, password=True)
    ctx.expect_code(reply, 235, "postfix AUTH PLAIN with the password")
    c = RawImap(fx.dovecot.imaps_port,
                tls=modern_context(ctx.pki.ca, hostname_check=False))
    ctx._open.append(c)
    c.line()
    line = c.command("b", 'LOGIN "%s" "%s"' % (USER, PASSWORD))[-1]
    ctx.check(line.startswith("b OK"), "IMAP LOGIN password: %r" % line)
    ctx.check(len(ts.introspections) == 6, "introspections: %d"
              % len(ts.introspections))


CASE = Case(
    "OAuth2 Postfix/Dovecot: XOAUTH2 with a valid token, revoked token "
    "refused (401 challenge), passwords still work",
    client,
    upstream=None,
    relay=False,
)
