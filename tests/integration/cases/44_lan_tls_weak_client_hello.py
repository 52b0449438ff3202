"""A TLS 1.0 ClientHello offering only 3DES and RC4 (suites this libssl
lacks): the handshake fails with an alert, and the log says what the
client offered, unknown suites in hex."""

from harness.case import Case
from harness.clients import (TLS_ALERT, TLS_ALERT_FATAL,
                             TLS_RSA_WITH_3DES_EDE_CBC_SHA,
                             TLS_RSA_WITH_RC4_128_SHA, client_hello)
from harness.relay import device, parse_fields

SUITES = [TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_RSA_WITH_RC4_128_SHA]


def handshake_fails(ctx, c, what):
    """Send the weak ClientHello; expect a fatal alert, then EOF."""
    c.send(client_hello(SUITES))
    record = c.tls_record()
    ctx.check(record is not None, "%s: connection closed without a TLS "
              "alert" % what)
    rtype, _, payload = record
    ctx.check(rtype == TLS_ALERT and payload[:1] == bytes([TLS_ALERT_FATAL]),
              "%s: expected a fatal TLS alert, got record type %d %r"
              % (what, rtype, payload[:16]))
    ctx.note("%s: alert description %d" % (what, payload[1]))
    closed, rest = c.wait_closed(5)
    ctx.check(closed, "%s: connection still open after the alert" % what)


def check_offered(ctx, fields, what):
    """The reason field must carry offered_max=TLSv1 and the suites in
    hex, 3DES first."""
    reason = fields.get("reason", "")
    offered = parse_fields(reason, first="offered_max") or {}
    ctx.check(offered.get("offered_max") == "TLSv1",
              "%s: offered_max is %r in reason %r"
              % (what, offered.get("offered_max"), reason))
    ciphers = offered.get("offered_ciphers", "").split(",")
    ctx.check(ciphers[:1] == ["0x000A"],
              "%s: offered_ciphers is %r in reason %r, expected 0x000A "
              "first" % (what, offered.get("offered_ciphers"), reason))
    ctx.check(len(ciphers) == 2, "%s: offered_ciphers %r should list both "
              "suites" % (what, ciphers))


def client(ctx):
    # Implicit TLS: the handshake comes before the device is identified.
    c = ctx.raw("smtps")
    handshake_fails(ctx, c, "implicit TLS")
    fields = ctx.relay.wait_session(10, event="lan_tls_failed",
                                    listener="smtps")
    ctx.check(fields is not None, "no event=lan_tls_failed line for the "
              "implicit TLS listener")
    ctx.check(fields.get("client") == "127.0.0.1",
              "lan_tls_failed line has client=%s" % fields.get("client"))
    check_offered(ctx, fields, "implicit TLS")

    # STARTTLS: the device is known, so its end line has the result.
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    c.send("EHLO scanner.lan\r\n")
    code, lines = c.reply()
    ctx.check(code == 250 and "250-STARTTLS" in lines,
              "EHLO reply %r" % lines)
    c.send("STARTTLS\r\n")
    code, lines = c.reply()
    ctx.check(code == 220, "STARTTLS reply %r" % lines)
    handshake_fails(ctx, c, "STARTTLS")
    fields = ctx.relay.wait_session(10, event="end")
    ctx.check(fields is not None, "no end line for the STARTTLS session")
    check_offered(ctx, fields, "STARTTLS end line")


CASE = Case(
    "TLS 1.0 hello with only 3DES/RC4 -> alert; log offered_max=TLSv1 "
    "offered_ciphers=0x000A,...",
    client,
    upstream="counting",
    devices=[device("copier-1", "127.0.0.1")],
    upstream_connections=0,
    log={"event": "end", "result": "lan_tls_failed", "device": "copier-1",
         "lan_tls": "none"},
)
