"""No plaintext login for this device: LOGINDISABLED and NO until
STARTTLS; afterwards AUTHENTICATE PLAIN with SASL-IR, tags kept."""

from harness.case import Case
from harness.clients import b64, legacy_context
from harness.imap import raw
from harness.relay import device


def check_refused(ctx, lines, tag, what):
    """A PRIVACYREQUIRED refusal that points at STARTTLS."""
    last = lines[-1] if lines else ""
    ctx.check(last.startswith(tag + " NO [PRIVACYREQUIRED]") and
              "STARTTLS" in last, "%s in the clear: %r" % (what, lines))


def client(ctx):
    c = raw(ctx, "imap")
    greeting = c.line()
    ctx.check(greeting.startswith("* OK [CAPABILITY IMAP4rev1 ") and
              "STARTTLS" in greeting and "LOGINDISABLED" in greeting and
              "AUTH=" not in greeting, "greeting %r" % greeting)
    check_refused(ctx, c.command("A1", 'LOGIN "%s" "%s"'
                                 % (ctx.user, ctx.password)), "A1", "LOGIN")
    check_refused(ctx, c.command("A2", "AUTHENTICATE PLAIN"), "A2",
                  "AUTHENTICATE")
    lines = c.command("A3", "STARTTLS")
    ctx.check(lines[-1].startswith("A3 OK"), "STARTTLS: %r" % lines)
    c.starttls(legacy_context())
    lines = c.command("A4", "CAPABILITY")
    caps = lines[0].split() if lines else []
    ctx.check(lines[-1].startswith("A4 OK") and "AUTH=PLAIN" in caps and
              "STARTTLS" not in caps and "LOGINDISABLED" not in caps,
              "CAPABILITY after STARTTLS: %r" % lines)
    lines = c.command("a.5", "AUTHENTICATE PLAIN " +
                      b64("\0%s\0%s" % (ctx.user, ctx.password)))
    ctx.check(lines[-1].startswith("a.5 OK"), "AUTHENTICATE: %r" % lines)
    ctx.check(not any(l.startswith("tr") for l in lines),
              "the relay's own tag reached the device: %r" % lines)
    lines = c.command("A6", "LOGOUT")
    ctx.check(lines[0].startswith("* BYE") and lines[-1].startswith("A6 OK"),
              "LOGOUT: %r" % lines)


CASE = Case(
    "LOGINDISABLED in the clear, NO [PRIVACYREQUIRED]; STARTTLS, SASL-IR",
    client,
    protocols=("imap",),
    devices=[device("mfp-4", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "mfp-4", "lan_tls": "TLSv1"},
)
