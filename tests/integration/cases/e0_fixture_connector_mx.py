"""Fixture check: the MX stand-in for connector relay (harness/mx.py)
delivers for the connector certificate only, at TLS 1.2 and 1.3, offers no
AUTH, and refuses everything else at the stage the e-cases assume (no
relay)."""

import ssl

from harness.case import Case
from harness.clients import close_quietly, legacy_context, smtp_connect
from harness.mx import (NEEDS_STARTTLS, REFUSALS, SENDER, UNLISTED_MAIL,
                        connector_certificate, direct_send, mx_standin,
                        tls_lines)


def plaintext_and_old_tls(ctx, mx):
    """EHLO offers STARTTLS, no AUTH; MAIL before STARTTLS is refused;
    TLS 1.1 fails the handshake; after STARTTLS (with the certificate)
    there is still no AUTH."""
    s, greeting = smtp_connect(mx.port, host="localhost")
    try:
        ctx.expect_code(greeting, 220, "stand-in greeting")
        ctx.expect_code(s.ehlo("fixture.test"), 250, "EHLO")
        ctx.check("starttls" in s.esmtp_features and
                  "auth" not in s.esmtp_features,
                  "plaintext EHLO: want STARTTLS and no AUTH, got %s"
                  % sorted(s.esmtp_features))
        reply = s.mail(SENDER)
        ctx.check(reply[0] == NEEDS_STARTTLS[0] and
                  reply[1].decode() == NEEDS_STARTTLS[1],
                  "MAIL before STARTTLS: want %r, got %r"
                  % (NEEDS_STARTTLS, reply))
    finally:
        close_quietly(s)
    s, greeting = smtp_connect(mx.port, host="localhost")
    try:
        s.ehlo("fixture.test")
        s.starttls(context=legacy_context(ssl.TLSVersion.TLSv1_1))
        ctx.check(False, "the stand-in accepted TLS 1.1")
    except (ssl.SSLError, OSError):
        pass
    finally:
        close_quietly(s)
    s, greeting = smtp_connect(mx.port, host="localhost")
    try:
        s.ehlo("fixture.test")
        tls = ssl.create_default_context(cafile=ctx.pki.ca)
        tls.load_cert_chain(*connector_certificate(ctx.pki))
        ctx.expect_code(s.starttls(context=tls), 220, "STARTTLS")
        ctx.expect_code(s.ehlo("fixture.test"), 250, "EHLO after STARTTLS")
        ctx.check("auth" not in s.esmtp_features,
                  "the stand-in offers AUTH after STARTTLS: %s"
                  % sorted(s.esmtp_features))
    finally:
        close_quietly(s)


def client(ctx):
    mx = mx_standin(ctx.run)
    ctx.postfix = mx		# delivered= looks in the stand-in's maildir
    mark = mx.log_mark()
    plaintext_and_old_tls(ctx, mx)
    # The connector certificate at TLS 1.2 and at the default (1.3).
    for tag, version in (("tls12", ssl.TLSVersion.TLSv1_2), ("", None)):
        msgid = ctx.msgid + ("-" + tag if tag else "")
        got = direct_send(mx, ctx.pki, msgid, "connector",
                          tls_version=version)
        ctx.check(got[:2] == ("delivered", 250),
                  "connector certificate %s: %r" % (tag or "TLS 1.3", got))
    ctx.check(mx.wait_message(ctx.msgid + "-tls12", 20),
              "the TLS 1.2 message was not delivered")
    # Refusals: (certificate, stage, (code, text)).
    expect = [(None, "EHLO after STARTTLS", REFUSALS[None]),
              ("untrusted", "EHLO after STARTTLS", REFUSALS["untrusted"]),
              ("unlisted", "MAIL", UNLISTED_MAIL)]
    refused = []
    for kind, stage, (code, text) in expect:
        msgid = "%s-%s" % (ctx.msgid, kind or "nocert")
        refused.append(msgid)
        got = direct_send(mx, ctx.pki, msgid, kind)
        ctx.check(got == (stage, code, text),
                  "certificate %s: want %r, got %r"
                  % (kind, (stage, code, text), got))
    ctx.check(not any(mx.wait_message(m, 1) for m in refused),
              "a refused message was delivered")
    lines = mx.log_since(mark)
    ctx.check(len(tls_lines(lines, "Trusted")) == 4,
              "want 4 'Trusted TLS connection' lines (connector twice, "
              "unlisted, the AUTH check), got %r" % tls_lines(lines))
    for reason in ("No client certificate presented",
                   "Client certificate not trusted"):
        ctx.check(any("NOQUEUE: abort: TLS from" in l and reason in l
                      for l in lines),
                  "no 'abort: TLS ... %s' line in the stand-in log" % reason)


CASE = Case("connector MX stand-in: client certificate required, "
            "fingerprint-listed only, TLS 1.2+, no AUTH (no relay)",
            client, upstream=None, relay=False, delivered=True)
