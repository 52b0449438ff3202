"""OAuth2 upstream authentication (issue 4): the OAuth2 upstreams, devices
and checks behind the tokens fixture (harness/fixtures.py).

The run gets, on first use, a token server (harness/tokenserver.py); a
Dovecot serving IMAPS and POP3S (TLS 1.2+) whose oauth2 passdb asks that
server's introspection endpoint about XOAUTH2/OAUTHBEARER tokens; and a
Postfix that uses this Dovecot for SASL, so its submission port offers
AUTH XOAUTH2 after STARTTLS. Password users keep working on both
(passwd-file passdb).

A case declares upstream="oauth" and fixtures=[tokens(...)] (or uses the
compatibility wrapper oauth_case(...)). Per case the token server gets a fresh app secret, no tokens and zero counters; the
relay gets an oauth2 section (client secret file, or the app certificate
and key with credential="certificate"), listeners for the protocols the
case uses, and upstreams that reach Postfix/Dovecot through counting TCP
proxies, so a case can assert how many upstream connections were made.
Devices are made with oauth_device(...): their secrets are hashed with
`tlsrelayd --hash-secret` when the relay is configured.

Besides the Case checks, the tokens fixture checks that no token the server
issued, no XOAUTH2 string, no app secret and no device secret appears in
the relay's log, the number of token requests when token_requests is
given, and (unless requests_valid=False) that every token request the
server got was a valid client credentials request.
"""

import os
import socket
import subprocess
import threading

from .case import Case, CaseFailure
from .clients import xoauth2_encode as xoauth2
from .dovecot import Dovecot
from .pop3 import Mailbox
from .postfix import Postfix
from .relay import device
# The device dialogues live in harness/steps.py; their names stay here for
# case files that import them from this module.
from .steps import DEVICE_SECRET, MAILBOX, imap_login, pop3_login, \
    smtp_login, smtp_send  # noqa: F401
from .steps import expect_per_login
from .tokenserver import SCOPE, TOKEN_PREFIX, TokenServer
from .util import FixtureError, free_port, run, wait_until, write_file

WRONG_SECRET = "not-the-device-secret"
LISTENERS = {"smtp": ("smtp", "smtps"), "pop3": ("pop3", "pop3s"),
             "imap": ("imap", "imaps")}
IMPLICIT = ("smtps", "pop3s", "imaps")


# XOAUTH2 and OAUTHBEARER checked by an RFC 7662 introspection endpoint
# (REFERENCE.md); password users keep the passwd-file passdb.
OAUTH2_PASSDB = """\
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = %s
}
"""

OAUTH2_CONF = """\
introspection_mode = post
introspection_url = %s
username_attribute = username
active_attribute = active
active_value = true
"""


class OAuthDovecot(Dovecot):
    """The test Dovecot plus XOAUTH2/OAUTHBEARER, checked by an oauth2
    passdb that posts each token to introspection_url."""

    def __init__(self, dir, pki, introspection_url, **kw):
        super().__init__(dir, pki, **kw)
        self.introspection_url = introspection_url

    def _write_config(self):
        """dovecot.conf with the OAuth2 mechanisms and passdb added."""
        super()._write_config()
        ext = write_file(os.path.join(self.dir, "oauth2.conf.ext"),
                         OAUTH2_CONF % self.introspection_url)
        with open(self.conf) as f:
            text = f.read()
        mechs = "auth_mechanisms = plain login\n"
        passwd = "  driver = passwd-file\n"
        userdb = "userdb {\n"
        if mechs not in text or passwd not in text or userdb not in text:
            raise FixtureError("unexpected dovecot.conf layout: %s"
                               % self.conf)
        text = text.replace(mechs, "auth_mechanisms = plain login xoauth2 "
                            "oauthbearer\n")
        text = text.replace(passwd, passwd + "  mechanisms = plain login\n")
        text = text.replace(userdb, OAUTH2_PASSDB % ext + userdb, 1)
        # doveadm's user lookups name no mechanism, so no passdb serves
        # them: the static userdb must not ask one.
        home = "home=%s/home/%%d/%%n\n" % self.dir
        if home not in text:
            raise FixtureError("unexpected dovecot.conf userdb: %s"
                               % self.conf)
        text = text.replace(home, home[:-1] + " allow_all_users=yes\n")
        write_file(self.conf, text)


def app_certificate(pki, name="app"):
    """A self-signed client certificate and key (RSA 2048, key 0600) for
    the app registration's client assertions (Entra ID takes self-signed
    ones), made on first use in the run's PKI directory."""
    cert = os.path.join(pki.dir, name + ".pem")
    key = os.path.join(pki.dir, name + ".key")
    if not os.path.exists(cert):
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-sha256", "-days", "30",
             "-subj", "/CN=tlsrelay test app " + name,
             "-addext", "extendedKeyUsage=clientAuth", "-out", cert])
        os.chmod(key, 0o600)
    return cert, key


class OAuthUpstreams:
    """The run's token server, OAuth2-capable Dovecot and Postfix."""

    def __init__(self, test_run):
        base = os.path.join(test_run.dir, "oauth")
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o711)
        pki = test_run.pki
        self.tokens = TokenServer(os.path.join(base, "tokens"), pki,
                                  MAILBOX).start()
        self.dovecot = OAuthDovecot(os.path.join(base, "dovecot"), pki,
                                    self.tokens.introspection_url,
                                    imaps_port=free_port(),
                                    pop3s_port=free_port()).start()
        self.postfix = Postfix(os.path.join(base, "postfix"), pki,
                               self.dovecot, free_port()).start()
        self.mailbox = Mailbox(self.dovecot)

    def port(self, protocol):
        """The upstream port for a protocol (Postfix submission, IMAPS,
        POP3S)."""
        return {"smtp": self.postfix.port, "imap": self.dovecot.imaps_port,
                "pop3": self.dovecot.pop3s_port}[protocol]

    def alive(self):
        """Are Dovecot and Postfix still running?"""
        return self.dovecot.proc is not None and \
            self.dovecot.proc.poll() is None and self.postfix.running


def oauth_upstreams(test_run):
    """The run's OAuthUpstreams, started on first use."""
    fx = getattr(test_run, "oauth_upstreams", None)
    if fx is None or not fx.alive():
        fx = OAuthUpstreams(test_run)
        test_run.oauth_upstreams = fx
    return fx


# --- devices and their secrets ---------------------------------------------

class SecretHash(str):
    """Stands for the crypt(3) hash of a device secret in a device dict
    until the relay is configured (hashing needs the daemon binary); the
    runner's first write of the files sees a placeholder."""

    def __new__(cls, secret):
        self = super().__new__(cls, "(hashed when the relay starts)")
        self.secret = secret
        return self


def oauth_device(name, addresses="127.0.0.1", protocols=("smtp",),
                 auth="oauth2", mailbox=MAILBOX, secret=DEVICE_SECRET,
                 senders=None, **kw):
    """A devices-file entry for auth = "oauth2" (the device logs in with
    mailbox and secret) or "relay" (SMTP, no device AUTH)."""
    d = device(name, addresses, protocols=protocols, auth=auth, **kw)
    d["mailbox"] = mailbox
    if auth == "oauth2":
        d["secret_hash"] = SecretHash(secret)
    if senders is not None:
        d["senders"] = list(senders)
    return d


_HASHES = {}


def hash_secret(binary, secret):
    """The crypt(3) hash of secret from `tlsrelayd --hash-secret` (secret
    on stdin), cached per run."""
    if secret in _HASHES:
        return _HASHES[secret]
    cmd = [binary, "--hash-secret"]
    p = subprocess.run(cmd, input=secret + "\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    out = p.stdout.strip()
    if p.returncode != 0 or not out.startswith(("$y$", "$6$")) or \
            len(out.splitlines()) != 1 or secret in out:
        raise FixtureError("%s: exit %d, stdout %r, stderr %r"
                           % (" ".join(cmd), p.returncode, p.stdout,
                              p.stderr.strip()))
    _HASHES[secret] = out
    return out


def hashed_devices(ctx, devices):
    """devices with every SecretHash replaced by its hash; the secrets
    join ctx.secrets (they must never be logged)."""
    out = []
    for d in devices:
        d = dict(d)
        if isinstance(d.get("secret_hash"), SecretHash):
            ctx.secrets.add(d["secret_hash"].secret)
            d["secret_hash"] = hash_secret(ctx.run.binary,
                                           d["secret_hash"].secret)
        out.append(d)
    return out


# --- counting proxies --------------------------------------------------------

class CountingProxy:
    """A TCP forwarder on 127.0.0.1 to one upstream port that counts the
    connections it accepts (TLS passes through untouched, so the relay
    still verifies the real upstream's certificate for "localhost").
    pause() stops it reading what the relay sends (an upstream that reads
    slowly) until resume(); rcvbuf sets its receive buffer, so that little
    waits in the kernel meanwhile."""

    def __init__(self, target_port, name, rcvbuf=None):
        self.target = target_port
        self.name = name
        self.accepted = 0
        self.lock = threading.Lock()
        self.socks = []
        self.reading = threading.Event()
        self.reading.set()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        """Accept until stopped; two pumping threads per connection."""
        while True:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.target),
                                              timeout=10)
            except OSError:
                conn.close()
                continue
            with self.lock:
                self.accepted += 1
                self.socks += [conn, up]
            for a, b, gate in ((conn, up, self.reading), (up, conn, None)):
                threading.Thread(target=_pump, args=(a, b, gate),
                                 daemon=True).start()

    def pause(self):
        """Stop reading from the relay (connections stay open)."""
        self.reading.clear()

    def resume(self):
        """Read from the relay again."""
        self.reading.set()

    def stop(self):
        """Stop listening and cut every forwarded connection."""
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass
        self.thread.join(5)


def _pump(src, dst, gate=None):
    """Copy bytes src -> dst until EOF, then half-close dst; each read
    waits for gate (a threading.Event) if given."""
    try:
        src.settimeout(None)
        while True:
            if gate is not None:
                gate.wait()
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- the case ------------------------------------------------------------

def oauth_case(doc, client, protocols=("smtp",), credential="secret",
               app_secret=None, expires_in=3599, token_requests=None,
               requests_valid=True, faults=None, **kw):
    """Compatibility wrapper for case files written before the declarative
    Case: Case(doc, client, protocols=protocols, upstream="oauth" (or
    faults[protocol], a scripted upstream), fixtures=[tokens(credential,
    app_secret, expires_in, token_requests, requests_valid)], ...); the
    other arguments are Case's."""
    from .fixtures import tokens
    upstream = {p: (faults or {}).get(p, "oauth") for p in protocols}
    return Case(doc, client, protocols=protocols, upstream=upstream,
                fixtures=[tokens(credential, app_secret, expires_in,
                                 token_requests, requests_valid)], **kw)


def oauth_section(ctx, credential="secret", app_secret=None):
    """The relay's oauth2 settings for the run's token server."""
    ts = ctx.tokens
    ctx.secrets.add(ts.secret)
    section = {"tenant": ts.tenant, "client_id": ts.client_id}
    if credential == "secret":
        secret = ts.secret if app_secret is None else app_secret
        ctx.secrets.add(secret)
        section["client_secret_file"] = write_file(
            os.path.join(ctx.relay.dir, "client-secret"), secret + "\n",
            0o600)
    elif credential == "certificate":
        cert, key = app_certificate(ctx.pki)
        ts.register_certificate(cert)
        section.update(certificate=cert, key=key)
    else:
        raise FixtureError("unknown credential %r" % credential)
    section.update(token_url=ts.token_url_template, scope=SCOPE,
                   ca_file=ctx.pki.ca)
    return section


def check_token_requests(ctx, want, requests_valid):
    """The token server's request count and validity."""
    ts = ctx.tokens
    if requests_valid:
        bad = [r for r in ts.token_requests() if r.reason is not None]
        ctx.check(not bad, "the token server refused a request the relay "
                  "made: %s" % "; ".join(r.describe() for r in bad))
    if want is None:
        return
    got = ts.count
    ok = want(got) if callable(want) else got == want
    ctx.check(ok, "token server got %d request(s), expected %s"
              % (got, getattr(want, "__doc__", None) or want))


def temporary(result):
    """a temporary failure (not ok, not auth_failed)"""
    return result not in ("ok", "auth_failed")


def check_no_tokens(ctx):
    """No issued token (nor either half of one) and no XOAUTH2 string may
    appear in the relay's log."""
    text = "\n".join(ctx.relay.lines())
    # Where the random part of the token starts in the base64 XOAUTH2
    # string (rounded up to a whole base64 quantum).
    fixed = len("user=%s\x01auth=Bearer %s" % (MAILBOX, TOKEN_PREFIX))
    start = 4 * -(-fixed // 3)
    for token in ctx.tokens.issued():
        body = token[len(TOKEN_PREFIX):]
        blob = xoauth2(MAILBOX, token)
        for form in (body[:len(body) // 2], body[len(body) // 2:],
                     blob[:40], blob[start:start + 40]):
            if form in text:
                raise CaseFailure("an access token appears in the tlsrelayd"
                                  " log (as %r)" % form)


def wait_sessions_ended(ctx, timeout=10):
    """After the client closed its connections: wait until every session
    the relay started has its end line (so the log is complete)."""
    def ended():
        lines = ctx.relay.lines()
        starts = sum(1 for l in lines if " event=start " in l)
        return sum(1 for l in lines if " event=end " in l) >= starts
    try:
        wait_until(ended, timeout, what="every session's end line")
    except TimeoutError as e:
        raise CaseFailure(str(e))


# --- log lines -----------------------------------------------------------

def token_lines(ctx, event):
    """Log lines carrying event=<event> (session lines or not)."""
    return [l for l in ctx.relay.lines() if " event=%s " % event in l + " "
            or l.startswith("event=%s " % event)]


def expect_refusals_explained(ctx, wants):
    """The relay's own logins were refused: one upstream_refusal line per
    login (and no other), each with the fields of its dict in wants, one
    token_rejected line naming the app per login (the refused token left
    the cache), and the relay still running."""
    expect_per_login(ctx, "upstream_refusal", wants)
    ctx.check(len([l for l in ctx.relay.lines() if "upstream_refusal" in l])
              == len(wants), "upstream_refusal lines besides one per login")
    rejected = token_lines(ctx, "token_rejected")
    ctx.check(len(rejected) == len(wants) and all(
        "client_id=%s" % ctx.tokens.client_id in l for l in rejected),
        "token_rejected lines (the refused token dropped from the "
        "cache): %r" % rejected)
    ctx.check(ctx.relay.alive(), "tlsrelayd is no longer running")


def wait_token_line(ctx, event, timeout=10, contains=()):
    """Wait for a line with event=<event> that contains every string in
    contains; returns it or fails the case with what was logged."""
    def found():
        return next((l for l in token_lines(ctx, event)
                     if all(c in l for c in contains)), None)
    try:
        return wait_until(found, timeout, what="event=%s line" % event)
    except TimeoutError:
        raise CaseFailure("no event=%s line containing %r within %d s; "
                          "event lines: %r"
                          % (event, list(contains), timeout,
                             token_lines(ctx, event)[-3:] or
                             ctx.relay.lines()[-5:]))
