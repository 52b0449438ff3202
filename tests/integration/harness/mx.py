"""Connector relay (SMTP to the tenant's MX with a client certificate):
the MX stand-in and connector_case().

Exchange Online's "SMTP relay" route: the organisation's server connects
to <tenant>.mail.protection.outlook.com:25, must STARTTLS (TLS 1.2+) and
present a CA-signed certificate naming one of the tenant's accepted
domains; it does not AUTH. The stand-in is a second private Postfix (its
own directory, maillog and maildir, started on first use) with one smtpd
service on 127.0.0.1:

- smtpd_tls_security_level=encrypt, TLS 1.2+ only, the test CA's
  "localhost" server certificate (the relay checks the host name);
- smtpd_tls_req_ccert=yes with smtpd_tls_CAfile = the test CA: no client
  certificate, or one the test CA did not sign, and the session ends
  right after the handshake: the next command gets "421 4.7.1 mx.test
  Error: No client certificate presented" or "... Client certificate not
  trusted" (REFUSALS);
- smtpd_delay_reject=no, smtpd_relay_restrictions = permit_tls_clientcerts,
  reject, and smtpd_sender_restrictions = permit_tls_clientcerts, then a
  static access result worded as Exchange Online's refusal, with
  relay_clientcerts listing the SHA-256 fingerprint of the "connector"
  certificate only: a test-CA certificate that is not listed is refused
  at MAIL FROM with "550 5.7.64 TenantAttribution; Relay Access Denied",
  as Exchange Online does when no connector matches;
- no AUTH (smtpd_sasl_auth_enable=no), mynetworks a TEST-NET address so
  nothing is permitted by client address;
- example.test is a virtual mailbox domain: messages land in the
  stand-in's own maildir (MXPostfix.find_message / wait_message).

Client certificates (made by pki.client_certificate, CN and SAN
example.test): "connector" (test CA, fingerprint listed), "unlisted"
(test CA, not listed), "untrusted" (signed by pki.untrusted_ca()).

A case declares fixtures=[mx(...)] (harness/fixtures.py) with
upstream="counting" and upstream_connections=0 (or uses the compatibility
wrapper connector_case(...)): upstreams.smtp points at a "counting" fault
server that must see no connection (connector devices never use it),
upstreams.connector reaches the stand-in through a counting proxy
(mx(connections=)), and
ctx.postfix is the stand-in, so delivered= looks in its maildir. In the
client, ctx.mx is the stand-in, ctx.connector the proxy (its accepted
count), ctx.mx_log() the stand-in's log lines since the case began.
"""

import os
import smtplib
import ssl

from .case import Case, CaseFailure
from .clients import TIMEOUT, make_message, modern_context
from .oauth import temporary
from .postfix import MASTER_CF, Postfix
from .util import FixtureError, free_port, run, wait_until, write_file

ACCEPTED_DOMAIN = "example.test"
SENDER = "scanner@example.test"		# in the devices' senders lists
MX_HOSTNAME = "mx.test"

# What the stand-in answers, stage by stage (Postfix 3.7.11, checked by
# the e0 case). No client certificate, or one the test CA did not sign:
# the handshake completes (TLS 1.2 and 1.3 alike), then the first command
# after STARTTLS (EHLO) gets a 421 and the connection is closed (logged
# "NOQUEUE: abort: TLS from ...: <reason>").
REFUSALS = {
    None: (421, "4.7.1 %s Error: No client certificate presented"
           % MX_HOSTNAME),
    "untrusted": (421, "4.7.1 %s Error: Client certificate not trusted"
                  % MX_HOSTNAME),
}
# A test-CA certificate whose fingerprint is not in relay_clientcerts:
# MAIL FROM gets this (smtpd_delay_reject=no); the session stays open.
# MAIL FROM with a certificate the stand-in does not list, worded as
# Exchange Online's refusal when no connector matches (Postfix puts the
# sender and its restriction's name in front).
EXO_REFUSAL = "550 5.7.64 TenantAttribution; Relay Access Denied"
UNLISTED_MAIL = (550, "5.7.64 <%s>: Sender address rejected: %s"
                 % (SENDER, EXO_REFUSAL[11:]))
# MAIL FROM before STARTTLS (smtpd_tls_security_level=encrypt).
NEEDS_STARTTLS = (530, "5.7.0 Must issue a STARTTLS command first")

MX_SERVICE = """\
{port} inet n - n - - smtpd
  -o syslog_name=postfix/mx
  -o myhostname={hostname}
  -o mynetworks=192.0.2.1/32
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_protocols=>=TLSv1.2
  -o smtpd_tls_mandatory_protocols=>=TLSv1.2
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_req_ccert=yes
  -o smtpd_tls_CAfile={ca}
  -o smtpd_tls_fingerprint_digest=sha256
  -o relay_clientcerts=texthash:{dir}/relay_clientcerts
  -o smtpd_sasl_auth_enable=no
  -o smtpd_delay_reject=no
  -o smtpd_client_restrictions=
  -o smtpd_helo_restrictions=
  -o {{ smtpd_sender_restrictions = permit_tls_clientcerts,
    check_sender_access {exo_refusal} }}
  -o smtpd_relay_restrictions=permit_tls_clientcerts,reject
  -o smtpd_recipient_restrictions=
"""


def connector_certificate(pki, kind="connector"):
    """(cert, key) of one of the client certificates (see the module
    doc), made on first use; a (cert, key) tuple is returned as is."""
    if isinstance(kind, tuple):
        return kind
    if kind == "connector":
        return pki.client_certificate("connector", ACCEPTED_DOMAIN)
    if kind == "unlisted":
        return pki.client_certificate("connector-unlisted", ACCEPTED_DOMAIN)
    if kind == "untrusted":
        return pki.client_certificate("connector-untrusted",
                                      ACCEPTED_DOMAIN,
                                      ca=pki.untrusted_ca())
    raise FixtureError("unknown connector certificate %r" % (kind,))


def fingerprint(cert):
    """The SHA-256 fingerprint of a PEM certificate as Postfix writes it
    (upper-case hex pairs joined by colons)."""
    out = run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint",
               "-sha256"]).stdout.strip()
    return out.split("=", 1)[1]


class MXPostfix(Postfix):
    """The test Postfix with its submission service replaced by the MX
    stand-in's smtpd (MX_SERVICE); relay_clientcerts lists the
    fingerprints of trusted (cert paths)."""

    def __init__(self, dir, pki, dovecot, port, trusted):
        super().__init__(dir, pki, dovecot, port)
        self.trusted = list(trusted)

    def _write_config(self):
        """The parent's files, then master.cf's first service swapped."""
        super()._write_config()
        first, rest = MASTER_CF.split("\npickup ", 1)
        if not first.startswith("{port} inet"):
            raise FixtureError("unexpected master.cf layout in postfix.py")
        write_file(os.path.join(self.confdir, "master.cf"),
                   MX_SERVICE.format(port=self.port, dir=self.dir,
                                     ca=self.pki.ca, hostname=MX_HOSTNAME,
                                     exo_refusal="static:{%s}" % EXO_REFUSAL)
                   + "pickup " + rest)
        write_file(os.path.join(self.dir, "relay_clientcerts"),
                   "".join("%s %s\n" % (fingerprint(c), os.path.basename(c))
                           for c in self.trusted))

    def log_mark(self):
        """A position in the maillog (for log_since)."""
        try:
            return os.path.getsize(self.maillog)
        except FileNotFoundError:
            return 0

    def log_since(self, mark):
        """The maillog lines written after mark, less those of stand-in
        smtpd sessions that were already open at mark (an earlier case's
        connection that ended late)."""
        try:
            with open(self.maillog, "rb") as f:
                before = f.read(mark).decode(errors="replace").splitlines()
                after = f.read().decode(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        open_pids = set()
        for line in before:
            pid = _smtpd_pid(line)
            if pid and "]: connect from " in line:
                open_pids.add(pid)
            elif pid and "]: disconnect from " in line:
                open_pids.discard(pid)
        out = []
        for line in after:
            pid = _smtpd_pid(line)
            if pid in open_pids:
                if "]: disconnect from " in line:
                    open_pids.discard(pid)
                continue
            out.append(line)
        return out


def _smtpd_pid(line):
    """The pid of a stand-in smtpd log line, or None."""
    tag = " postfix/mx/smtpd["
    at = line.find(tag)
    if at < 0:
        return None
    return line[at + len(tag):line.find("]", at)]


def mx_standin(test_run):
    """The run's MX stand-in, started on first use."""
    mx = getattr(test_run, "mx", None)
    if mx is None or not mx.running:
        pki = test_run.pki
        base = os.path.join(test_run.dir, "mx")
        mx = MXPostfix(base, pki, test_run.dovecot, free_port(),
                       [connector_certificate(pki, "connector")[0]]).start()
        test_run.mx = mx
    return mx


# --- talking to the stand-in directly (fixture checks) ----------------------

def direct_send(mx, pki, msgid, certificate=None, host="localhost",
                tls_version=None):
    """Send one message straight to the stand-in (STARTTLS TLS 1.2+, or
    exactly tls_version, verifying its certificate, presenting certificate
    if given: a kind for connector_certificate or a (cert, key) pair).

    Returns (stage, code, text): stage is "delivered" (code 250 from
    DATA) or the step that was refused ("greeting", "EHLO", "STARTTLS",
    "EHLO after STARTTLS", "MAIL", "RCPT", "DATA"), with its reply; a
    connection the server closed without a reply gives code None.
    """
    tls = modern_context(pki.ca)
    if tls_version is not None:
        tls.minimum_version = tls.maximum_version = tls_version
    if certificate is not None:
        tls.load_cert_chain(*connector_certificate(pki, certificate))
    s = smtplib.SMTP(timeout=TIMEOUT)
    s._host = host			# the name STARTTLS verifies
    stage = "greeting"
    try:
        code, text = s.connect(host, mx.port)
        if code != 220:
            return stage, code, _text(text)
        for stage, step in (
                ("EHLO", lambda: s.ehlo("mx-client.test")),
                ("STARTTLS", lambda: s.starttls(context=tls)),
                ("EHLO after STARTTLS", lambda: s.ehlo("mx-client.test")),
                ("MAIL", lambda: s.mail(SENDER)),
                ("RCPT", lambda: s.rcpt("inbox@example.test")),
                ("DATA", lambda: s.data(make_message(msgid)))):
            code, text = step()
            if code >= 400 or (stage == "EHLO" and
                               "starttls" not in s.esmtp_features):
                return stage, code, _text(text)
        return "delivered", code, _text(text)
    except smtplib.SMTPServerDisconnected as e:
        return stage, None, "disconnected: %s" % e
    except (ssl.SSLError, OSError) as e:
        return stage, None, "%s: %s" % (type(e).__name__, e)
    finally:
        try:
            s.close()
        except Exception:
            pass


def _text(text):
    """An smtplib reply text as str."""
    return text.decode(errors="replace") if isinstance(text, bytes) \
        else str(text)


def tls_lines(lines, kind=None):
    """The stand-in's "... TLS connection established from ..." lines of
    the MX service; kind "Trusted", "Untrusted" or "Anonymous" filters."""
    return [l for l in lines if "postfix/mx/smtpd" in l and
            "TLS connection established from" in l and
            (kind is None or (" %s TLS connection" % kind) in l)]


# --- the case ------------------------------------------------------------

def connector_case(doc, client, certificate="connector",
                   accepted_domains=(ACCEPTED_DOMAIN,), host="localhost",
                   connector_connections=None, ca_file=None, **kw):
    """Compatibility wrapper for case files written before the declarative
    Case: Case(doc, client, upstream="counting", upstream_connections=0,
    fixtures=[mx(certificate, accepted_domains, host, ca_file,
    connector_connections)], ...); the other arguments are Case's."""
    from .fixtures import mx
    return Case(doc, client, upstream="counting", upstream_connections=0,
                fixtures=[mx(certificate, accepted_domains, host, ca_file,
                             connector_connections)], **kw)


def check_count(proxy, want):
    """The stand-in got the expected number of connections."""
    if want is None:
        return
    got = proxy.accepted
    ok = want(got) if callable(want) else got == want
    if not ok:
        raise CaseFailure("the MX stand-in got %d connection(s), expected %s"
                          % (got, want.__doc__ if callable(want) else want))


def wait_mx_lines(ctx, predicate, count=1, timeout=10,
                  what="MX stand-in log lines"):
    """Wait until at least count stand-in log lines (since the case
    began) satisfy predicate; returns them all, or fails the case."""
    def matching():
        return [l for l in ctx.mx_log() if predicate(l)]
    try:
        return wait_until(lambda: len(matching()) >= count and matching(),
                          timeout, what=what)
    except TimeoutError:
        raise CaseFailure("want %d %s within %d s, got %r"
                          % (count, what, timeout, matching()))


def mx_disconnects(ctx, count, timeout=10):
    """The stand-in's "disconnect from" lines (its per-session command
    counts, e.g. "ehlo=2 starttls=1 mail=1 ... auth=0/1"), once there
    are count of them."""
    return wait_mx_lines(ctx, lambda l: "postfix/mx/smtpd" in l and
                         "disconnect from" in l, count, timeout,
                         "stand-in disconnect lines")


# --- dialogues -------------------------------------------------------------

def upstream_refused_client(marker, reason, relay_reason=None,
                            result=temporary):
    """The client of a case whose stand-in refuses the relay (or the
    relay the stand-in): two device sessions (plaintext, then STARTTLS at
    TLS 1.0) each get a 4xx at MAIL FROM and no 2xx to RCPT; the relay
    stays up, ends both sessions with a result that passes result (by
    default a temporary one: the login failed) and logs why (relay_reason,
    by default reason); the stand-in's log has a line with marker and
    reason for both connections."""
    def client(ctx):
        for tls in (False, True):
            s, greeting = ctx.smtp("smtp")
            ctx.expect_code(greeting, 220, "greeting")
            ctx.ehlo(s)
            if tls:
                ctx.starttls(s)
            code, text = s.mail(SENDER)
            ctx.expect_code((code, text), range(400, 500), "MAIL FROM while "
                            "the stand-in refuses the relay (%s)"
                            % ("STARTTLS" if tls else "plaintext"))
            if code != 421:
                got = s.rcpt("inbox@example.test")
                ctx.check(got[0] >= 400, "RCPT TO after the refused MAIL "
                          "FROM: %r" % (got,))
                ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
            ctx.check(ctx.relay.alive(), "tlsrelayd is not running")
        ends = ctx.relay.wait_sessions(2, event="end")
        ctx.check(len(ends) == 2 and
                  all(result(f.get("result", "ok")) and
                      f.get("messages") == "0" for f in ends),
                  "end lines: want 2 with the expected result and "
                  "messages=0, got %r" % ends)
        wait_mx_lines(ctx, lambda l: marker in l and reason in l, 2,
                      what="stand-in lines with %r and %r"
                      % (marker, reason))
        why = relay_reason or reason
        ctx.check(any(why in l for l in ctx.relay.lines()),
                  "the relay's log does not say why (%r)" % why)
    return client
