"""A stand-in for the Microsoft identity platform's token endpoint, plus an
RFC 7662 introspection endpoint for the test Dovecot.

Token endpoint: HTTPS (TLS 1.2+, pki.localhost, so the relay verifies it
against the test CA) on 127.0.0.1 at
https://localhost:PORT/{tenant}/oauth2/v2.0/token. It implements the
client credentials grant as REFERENCE.md describes it: a form POST with
client_id, scope, grant_type=client_credentials and either client_secret
or a client_assertion (a JWT signed with the app's registered certificate:
RS256 or PS256, x5t#S256 header, aud = the token URL, iss = sub =
client_id, unique jti, nbf/exp). The signature is checked with the openssl
CLI against the registered certificate's public key. A good request gets
200 {"token_type":"Bearer","expires_in":N,"access_token":...} with a fresh
random token; a bad one gets 400 with error, an error_description that
starts with an AADSTS code, error_codes, timestamp, trace_id and
correlation_id, as Entra ID answers.

Failure modes (TokenServer.mode): "ok"; "aadsts" (every request gets the
AADSTS error named by fail_key, by default "secret": AADSTS7000215);
"error500" (HTTP 500 with an HTML page);
"slow" (waits delay seconds, then answers as "ok"); "garbage" (200 with a
body that is not JSON). down() closes the listening socket (connections are
refused) and up() opens it again on the same port; use_certificate()
switches the certificate the endpoint presents (e.g. pki.wrongname).

Introspection endpoint: plain HTTP on 127.0.0.1 (Dovecot accepts it on
loopback), POST token=...: {"active": true, "username": MAILBOX, ...} for
a token this server issued that is neither revoked nor expired, else
{"active": false}. revoke() and expire() act on issued tokens.

Everything is counted: requests (every token endpoint POST, with its
outcome), issued tokens, introspections; cases assert on those counts.
"""

import base64
import hashlib
import http.client
import json
import os
import secrets
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .util import FixtureError, register_cleanup, run, unregister_cleanup

SCOPE = "https://outlook.office365.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 300		# seconds of nbf/exp leeway, as Entra ID allows
MAX_ASSERTION_LIFE = 3600	# a longer-lived assertion is refused
TOKEN_PREFIX = "eyJ0eXAiOiJKV1QiLCJub25jZSI6"	# tokens look like JWTs

# AADSTS codes this stand-in answers with: (code, error, description).
AADSTS = {
    "tenant": (90002, "invalid_request", "Tenant '{0}' not found. Check to "
               "make sure you have the correct tenant ID and are signing "
               "into the correct cloud."),
    "client_id": (700016, "unauthorized_client", "Application with "
                  "identifier '{0}' was not found in the directory '{1}'."),
    "grant_type": (70003, "unsupported_grant_type", "The app requested an "
                   "unsupported grant type '{0}'."),
    "scope": (70011, "invalid_scope", "The provided value for the input "
              "parameter 'scope' is not valid. The scope {0} is not valid."),
    "no_credential": (7000218, "invalid_client", "The request body must "
                      "contain the following parameter: 'client_assertion' "
                      "or 'client_secret'."),
    "secret": (7000215, "invalid_client", "Invalid client secret provided. "
               "Ensure the secret being sent in the request is the client "
               "secret value, not the client secret ID, for a secret added "
               "to app '{0}'."),
    "expired_secret": (7000222, "invalid_client", "The provided client "
                       "secret keys for app '{0}' are expired. Visit the "
                       "Azure portal to create new keys for your app: "
                       "https://aka.ms/NewClientSecret, or consider using "
                       "certificate credentials for added security: "
                       "https://aka.ms/certCreds."),
    "assertion_type": (700023, "invalid_request", "The client_assertion_type "
                       "'{0}' is not supported."),
    "malformed": (50027, "invalid_request", "JWT token is invalid or "
                  "malformed: {0}."),
    "unknown_cert": (700027, "invalid_client", "The certificate with "
                     "identifier used to sign the client assertion is not "
                     "registered on application. [Reason - {0}]"),
    "signature": (700027, "invalid_client", "Client assertion failed "
                  "signature validation. [Reason - {0}]"),
    "claims": (700021, "invalid_client", "Client assertion application "
               "identifier doesn't match 'client_id' parameter: {0}."),
    "audience": (700016, "invalid_client", "Client assertion audience "
                 "claim does not match the token endpoint: {0}."),
    "lifetime": (700024, "invalid_client", "Client assertion is not within "
                 "its valid time range: {0}."),
    "replay": (700025, "invalid_client", "Client assertion contains an "
               "identifier (jti) that was already used: {0}."),
}


def b64url(data):
    """base64url without padding, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    """Decode base64url with or without padding; ValueError if invalid."""
    if isinstance(text, str):
        text = text.encode()
    if not all(c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               b"0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


class Rejected(Exception):
    """A token request that Entra ID would refuse: key into AADSTS."""

    def __init__(self, key, *args):
        super().__init__(key)
        self.key = key
        self.args_text = args


class Request:
    """One POST the token endpoint received, and what became of it."""

    def __init__(self, path, headers, form, when):
        self.path = path
        self.headers = headers		# dict, lower-case names
        self.form = form		# dict of str -> str (last value wins)
        self.when = when		# time.monotonic()
        self.credential = None		# "secret" or "assertion"
        self.jwt = None			# (header, claims) of a valid assertion
        self.status = None		# HTTP status answered
        self.outcome = None		# "issued", "AADSTS<code>", "error500"...
        self.reason = None		# why it was refused (for diagnostics)
        self.trace_id = None
        self.token = None

    def describe(self):
        """One line for diagnostics (no secret values)."""
        return "%s %s -> %s %s%s" % (
            self.path, self.credential or "-", self.status, self.outcome,
            " (%s)" % self.reason if self.reason else "")


class TokenServer:
    """The token endpoint and the introspection endpoint for one run.

    The app registration (tenant, client_id, and a secret and/or a
    certificate) and the counters are reset per case with reset().
    """

    def __init__(self, dir, pki, mailbox):
        self.dir = dir
        self.pki = pki
        self.mailbox = mailbox
        os.makedirs(dir, exist_ok=True)
        self.lock = threading.Lock()
        self.tenant = "tlsrelay-test-tenant"
        self.client_id = str(uuid.uuid4())
        self.cert = pki.localhost
        self.https = None
        self.https_thread = None
        self.port = None
        self.http = None
        self.http_thread = None
        self.introspection_port = None
        self.generation = 0
        self._reset_state()

    # --- configuration and state ------------------------------------------

    def _reset_state(self):
        """Forget every token, request and setting from the last case
        (a request still being answered belongs to an old generation)."""
        with self.lock:
            self.generation += 1
            self.secret = secrets.token_urlsafe(30)
            self.app_pubkey = None		# its public key (PEM path)
            self.app_thumbprint = None		# x5t#S256 value
            self.expires_in = 3599
            self.mode = "ok"
            self.fail_key = "secret"
            self.delay = 0.0
            self.requests = []
            self.tokens = {}		# token -> {"expires", "revoked"}
            self.jtis = set()
            self.introspections = []	# (token, active)
            self.tls_failures = []
            self.in_flight = 0
            self.max_in_flight = 0

    def reset(self, expires_in=3599):
        """A fresh app secret, no tokens, zero counters, mode ok, the
        usual certificate, listening. Returns self."""
        self._reset_state()
        self.expires_in = expires_in
        if self.cert != self.pki.localhost or self.https is None:
            self.use_certificate(self.pki.localhost)
        return self

    def register_certificate(self, cert_pem):
        """Register an app certificate (PEM path) for client assertions:
        keeps its public key and its x5t#S256 thumbprint."""
        pub = os.path.join(self.dir, "app-pub.pem")
        run(["openssl", "x509", "-in", cert_pem, "-pubkey", "-noout",
             "-out", pub])
        der = cert_der(cert_pem)
        with self.lock:
            self.app_pubkey = pub
            self.app_thumbprint = b64url(hashlib.sha256(der).digest())

    @property
    def token_url(self):
        """The token URL with the tenant filled in."""
        return "https://localhost:%d/%s/oauth2/v2.0/token" % (self.port,
                                                              self.tenant)

    @property
    def token_url_template(self):
        """The token URL as the relay's config writes it ({tenant})."""
        return "https://localhost:%d/{tenant}/oauth2/v2.0/token" % self.port

    @property
    def introspection_url(self):
        """What Dovecot's oauth2 passdb posts tokens to."""
        return "http://127.0.0.1:%d/introspect" % self.introspection_port

    # --- counters and checks ----------------------------------------------

    def token_requests(self):
        """Every token endpoint POST so far (a copy)."""
        with self.lock:
            return list(self.requests)

    @property
    def count(self):
        """How many token requests arrived."""
        with self.lock:
            return len(self.requests)

    def issued(self):
        """The tokens issued so far, oldest first."""
        with self.lock:
            return [r.token for r in self.requests if r.token]

    def refused(self):
        """Requests that were answered with an error."""
        with self.lock:
            return [r for r in self.requests if r.token is None]

    def revoke(self, token=None):
        """Revoke one token, or every token issued so far."""
        with self.lock:
            for t, info in self.tokens.items():
                if token is None or t == token:
                    info["revoked"] = True

    def expire(self, token=None):
        """Make one token (or all) expired as far as introspection says;
        the relay's cached expiry is not affected."""
        with self.lock:
            for t, info in self.tokens.items():
                if token is None or t == token:
                    info["expires"] = time.time() - 1

    def describe(self):
        """Diagnostics: mode, counts and every request."""
        with self.lock:
            lines = ["token server %s mode=%s: %d request(s), %d issued, "
                     "%d introspection(s), max %d in flight%s"
                     % (self.token_url if self.port else "(not started)",
                        self.mode, len(self.requests),
                        sum(1 for r in self.requests if r.token),
                        len(self.introspections), self.max_in_flight,
                        ", TLS failures: %s" % self.tls_failures
                        if self.tls_failures else "")]
            lines += ["  " + r.describe() for r in self.requests[-12:]]
            lines += ["  introspect %s... active=%s" % (t[:8], a)
                      for t, a in self.introspections[-6:]]
        return lines

    # --- listeners --------------------------------------------------------

    def start(self):
        """Start both endpoints; returns self."""
        register_cleanup(self.stop)
        self.http = _HTTPServer(("127.0.0.1", 0), _IntrospectionHandler,
                                self, None)
        self.introspection_port = self.http.server_address[1]
        self.http_thread = _serve(self.http)
        self.use_certificate(self.cert)
        return self

    def use_certificate(self, cert):
        """(Re)open the token endpoint presenting cert ((pem, key))."""
        self.cert = cert
        self.down()
        self.up()

    def up(self):
        """Listen on the token endpoint (the same port as before)."""
        if self.https is not None:
            return
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(*self.cert)
        self.https = _HTTPServer(("127.0.0.1", self.port or 0),
                                 _TokenHandler, self, tls)
        self.port = self.https.server_address[1]
        self.https_thread = _serve(self.https)

    def down(self):
        """Close the token endpoint's listening socket: connections to
        the port are refused until up()."""
        if self.https is None:
            return
        self.https.shutdown()
        self.https.server_close()
        self.https_thread.join(5)
        self.https = None

    def stop(self):
        """Stop both endpoints."""
        unregister_cleanup(self.stop)
        self.down()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
            self.http_thread.join(5)
            self.http = None

    # --- the token endpoint -----------------------------------------------

    def handle_token(self, req):
        """Decide one token request: (status, headers, body)."""
        with self.lock:
            generation = self.generation
            self.requests.append(req)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            mode, delay = self.mode, self.delay
        try:
            if mode == "slow" and delay:
                time.sleep(delay)
            if mode == "error500":
                req.status, req.outcome = 500, "error500"
                return 500, {"Content-Type": "text/html"}, (
                    "<html><body><h1>Sorry, but we're having trouble signing"
                    " you in.</h1></body></html>")
            if mode == "garbage":
                req.status, req.outcome = 200, "garbage"
                return 200, {"Content-Type": "application/json"}, \
                    "<html>not json</html>"
            try:
                self._check(req)
                if mode == "aadsts":
                    raise Rejected(self.fail_key, self.client_id,
                                   self.tenant)
            except Rejected as e:
                return self._error(req, e)
            return self._issue(req, generation)
        finally:
            with self.lock:
                if generation == self.generation:
                    self.in_flight -= 1

    def _issue(self, req, generation):
        """A fresh token for a valid request (one answered after a reset
        is not remembered: no later case can use it)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(48)
        with self.lock:
            if generation == self.generation:
                self.tokens[token] = {"revoked": False, "expires":
                                      time.time() + self.expires_in}
            expires_in = self.expires_in
        req.token = token
        req.status, req.outcome = 200, "issued"
        body = json.dumps({"token_type": "Bearer", "expires_in": expires_in,
                           "ext_expires_in": expires_in,
                           "access_token": token})
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    def _error(self, req, rejected):
        """The 400 answer Entra ID gives, with fresh trace/correlation
        ids (the trace id is kept on the request)."""
        code, error, text = AADSTS[rejected.key]
        text = text.format(*rejected.args_text) if rejected.args_text \
            else text.replace("{0}", "?").replace("{1}", "?")
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        req.status, req.outcome = 400, "AADSTS%d" % code
        req.reason = rejected.key
        req.trace_id = trace
        body = json.dumps({
            "error": error,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID:"
            " %s Timestamp: %s" % (code, text, trace, corr, stamp),
            "error_codes": [code], "timestamp": stamp, "trace_id": trace,
            "correlation_id": corr,
            "error_uri": "https://login.microsoftonline.com/error?code=%d"
            % code})
        return 400, {"Content-Type": "application/json; charset=utf-8"}, body

    def _check(self, req):
        """Validate a request as Entra ID would; raise Rejected."""
        form = req.form
        tenant = req.path.split("/")[1] if req.path.count("/") >= 2 else ""
        if req.path != "/%s/oauth2/v2.0/token" % tenant or \
                tenant != self.tenant:
            raise Rejected("tenant", tenant)
        ctype = req.headers.get("content-type", "").split(";")[0].strip()
        if ctype.lower() != "application/x-www-form-urlencoded":
            raise Rejected("malformed", "content type %r" % ctype)
        if form.get("client_id") != self.client_id:
            raise Rejected("client_id", form.get("client_id", ""),
                           self.tenant)
        if form.get("grant_type") != "client_credentials":
            raise Rejected("grant_type", form.get("grant_type", ""))
        if form.get("scope") != SCOPE:
            raise Rejected("scope", form.get("scope", ""))
        has_secret = "client_secret" in form
        has_assertion = "client_assertion" in form or \
            "client_assertion_type" in form
        if has_secret == has_assertion:
            raise Rejected("no_credential")
        if has_secret:
            req.credential = "secret"
            if not secrets.compare_digest(form["client_secret"].encode(),
                                          self.secret.encode()):
                raise Rejected("secret", self.client_id)
            return
        req.credential = "assertion"
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Rejected("assertion_type",
                           form.get("client_assertion_type", ""))
        req.jwt = self._check_assertion(form.get("client_assertion", ""))

    def _check_assertion(self, jwt):
        """Check a client assertion JWT: structure, header, signature,
        claims. Returns (header, claims)."""
        parts = jwt.split(".")
        if len(parts) != 3:
            raise Rejected("malformed", "%d parts" % len(parts))
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError as e:
            raise Rejected("malformed", str(e))
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise Rejected("malformed", "header or claims not an object")
        if header.get("alg") not in ("RS256", "PS256"):
            raise Rejected("signature", "alg %r" % header.get("alg"))
        if header.get("typ", "JWT").upper() != "JWT":
            raise Rejected("malformed", "typ %r" % header.get("typ"))
        with self.lock:
            thumbprint, pubkey = self.app_thumbprint, self.app_pubkey
        if thumbprint is None or header.get("x5t#S256") != thumbprint:
            raise Rejected("unknown_cert", "x5t#S256 %r, registered %r"
                           % (header.get("x5t#S256"), thumbprint))
        signed = ("%s.%s" % (parts[0], parts[1])).encode()
        if not verify_signature(pubkey, header["alg"], signed, signature):
            raise Rejected("signature", "openssl did not verify it")
        self._check_claims(claims)
        return header, claims

    def _check_claims(self, claims):
        """aud, iss, sub, jti, nbf, exp of a signed assertion."""
        if claims.get("aud") != self.token_url:
            raise Rejected("audience", "aud %r, expected %r"
                           % (claims.get("aud"), self.token_url))
        if claims.get("iss") != self.client_id or \
                claims.get("sub") != self.client_id:
            raise Rejected("claims", "iss %r sub %r" % (claims.get("iss"),
                                                        claims.get("sub")))
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(exp, int) or (nbf is not None and
                                         not isinstance(nbf, int)):
            raise Rejected("lifetime", "nbf %r exp %r" % (nbf, exp))
        if exp < now - CLOCK_SKEW or (nbf or 0) > now + CLOCK_SKEW or \
                exp - (nbf or now) > MAX_ASSERTION_LIFE:
            raise Rejected("lifetime", "nbf %r exp %r now %d"
                           % (nbf, exp, now))
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Rejected("malformed", "no jti")
        with self.lock:
            if jti in self.jtis:
                raise Rejected("replay", jti)
            self.jtis.add(jti)

    # --- the introspection endpoint ---------------------------------------

    def introspect(self, token):
        """The RFC 7662 answer for a token: active with the mailbox as
        username for a token this server issued that is neither revoked
        nor expired, else just {"active": false} (Dovecot then fails the
        login with its 401 challenge, as for a refused password)."""
        with self.lock:
            info = self.tokens.get(token)
            active = bool(info) and not info["revoked"] and \
                info["expires"] > time.time()
            self.introspections.append((token, active))
            if not active:
                return {"active": False}
            return {"active": True, "username": self.mailbox,
                    "scope": SCOPE, "client_id": self.client_id,
                    "token_type": "Bearer", "exp": int(info["expires"])}


def cert_der(cert_pem):
    """A PEM certificate file's DER bytes."""
    p = subprocess.run(["openssl", "x509", "-in", cert_pem, "-outform",
                        "DER"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise FixtureError("openssl x509 %s: %s" % (cert_pem, p.stderr))
    return p.stdout


def verify_signature(pubkey, alg, data, signature):
    """Verify an RS256 (PKCS#1 v1.5) or PS256 (PSS, 32-byte salt)
    signature over data with the openssl CLI."""
    with tempfile.TemporaryDirectory() as tmp:
        data_file = os.path.join(tmp, "data")
        sig_file = os.path.join(tmp, "sig")
        with open(data_file, "wb") as f:
            f.write(data)
        with open(sig_file, "wb") as f:
            f.write(signature)
        cmd = ["openssl", "dgst", "-sha256", "-verify", pubkey,
               "-signature", sig_file]
        if alg == "PS256":
            cmd += ["-sigopt", "rsa_padding_mode:pss",
                    "-sigopt", "rsa_pss_saltlen:32"]
        p = subprocess.run(cmd + [data_file], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        return p.returncode == 0 and b"Verified OK" in p.stdout


def sign_assertion(key, cert_pem, client_id, aud, alg="RS256", life=300,
                   jti=None, now=None):
    """A client assertion as the relay should make one (for the fixture
    check of the verifier): header with x5t#S256, claims, signature."""
    der = cert_der(cert_pem)
    now = int(now if now is not None else time.time())
    header = {"alg": alg, "typ": "JWT",
              "x5t#S256": b64url(hashlib.sha256(der).digest())}
    claims = {"aud": aud, "iss": client_id, "sub": client_id,
              "jti": jti or str(uuid.uuid4()), "nbf": now, "iat": now,
              "exp": now + life}
    signed = "%s.%s" % (b64url(json.dumps(header).encode()),
                        b64url(json.dumps(claims).encode()))
    cmd = ["openssl", "dgst", "-sha256", "-sign", key]
    if alg == "PS256":
        cmd += ["-sigopt", "rsa_padding_mode:pss",
                "-sigopt", "rsa_pss_saltlen:32"]
    sig = subprocess.run(cmd, input=signed.encode(), stdout=subprocess.PIPE,
                         check=True, timeout=30).stdout
    return signed + "." + b64url(sig)


# --- HTTP plumbing ---------------------------------------------------------

class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP(S) server; the TLS handshake runs in the request's
    thread so a slow or failing client does not hold up the others."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, owner, tls):
        self.owner = owner
        self.tls = tls
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        """Wrap the connection in TLS (if any), then serve it."""
        if self.tls is not None:
            request.settimeout(30)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.owner.lock:
                    self.owner.tls_failures.append(str(e)[:120])
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        """Peers that go away mid-request are not worth a traceback."""


def _serve(server):
    """serve_forever in a daemon thread."""
    t = threading.Thread(target=server.serve_forever,
                         kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    return t


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; reads Content-Length or chunked bodies."""

    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format, *args):
        """Quiet: the owner keeps what matters."""

    def body(self):
        """The request body (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self, status, headers, body):
        """Send a complete answer with Content-Length."""
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store, no-cache")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        """Only POST is served."""
        self.answer(405, {"Content-Type": "text/plain"}, "POST only\n")


class _TokenHandler(_Handler):
    """The token endpoint."""

    def do_POST(self):
        """One token request."""
        raw = self.body()
        try:
            form = dict(urllib.parse.parse_qsl(raw.decode(),
                                               keep_blank_values=True,
                                               strict_parsing=True))
        except (ValueError, UnicodeDecodeError):
            form = {}
        req = Request(self.path, {k.lower(): v for k, v in
                                  self.headers.items()},
                      form, time.monotonic())
        status, headers, body = self.server.owner.handle_token(req)
        self.answer(status, headers, body)


class _IntrospectionHandler(_Handler):
    """The introspection endpoint Dovecot posts tokens to."""

    def do_POST(self):
        """token=... -> the RFC 7662 answer."""
        form = dict(urllib.parse.parse_qsl(self.body().decode(
            errors="replace")))
        answer = self.server.owner.introspect(form.get("token", ""))
        self.answer(200, {"Content-Type": "application/json"},
                    json.dumps(answer))


def request_token(server, ca_file, fields, path=None, timeout=20):
    """POST a token request as a client would (verifying the endpoint
    against ca_file); returns (status, parsed JSON or the raw text)."""
    tls = ssl.create_default_context(cafile=ca_file)
    conn = http.client.HTTPSConnection("localhost", server.port,
                                       timeout=timeout, context=tls)
    try:
        conn.request("POST", path or "/%s/oauth2/v2.0/token" % server.tenant,
                     urllib.parse.urlencode(fields),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
    finally:
        conn.close()
    try:
        return resp.status, json.loads(text)
    except ValueError:
        return resp.status, text


def secret_form(server, secret=None):
    """The form fields of a client-secret token request."""
    return {"client_id": server.client_id, "scope": SCOPE,
            "grant_type": "client_credentials",
            "client_secret": server.secret if secret is None else secret}


def assertion_form(server, assertion):
    """The form fields of a certificate (client assertion) request."""
    return {"client_id": server.client_id, "scope": SCOPE,
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}
