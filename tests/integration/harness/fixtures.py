"""The named fixtures a Case declares, and how the runner sets them up.

Upstreams: each protocol of a case (Case.protocols) gets the upstream its
name picks in UPSTREAMS: real Postfix or Dovecot, a scripted fault server,
the OAuth2 Postfix and Dovecot behind a counting proxy, or a closed port.
Services: the token server (tokens(...)) and the MX stand-in (mx(...))
are declared in Case.fixtures; they start before the upstreams, add their
part to the relay's settings after them, check what they saw after the
client ran, and stop with the case.
"""

from .faultserver import MODES as SMTP_FAULTS, FaultServer
from .imap import FAULT_MODES as IMAP_FAULTS, ImapFaultServer, imap_dovecot
from .mx import ACCEPTED_DOMAIN, check_count, connector_certificate, \
    mx_standin
from .oauth import CountingProxy, check_no_tokens, check_token_requests, \
    hashed_devices, oauth_section, oauth_upstreams, wait_sessions_ended
from .pop3 import Mailbox, make_messages, upstream_dovecot
from .pop3fault import MODES as POP3_FAULTS, Pop3FaultServer
from .relay import base_settings, connector_upstream
from .util import FixtureError, closed_port, free_port

# Listener name -> protocol; "...s" listeners are implicit TLS.
LISTENERS = {"smtp": "smtp", "smtps": "smtp", "pop3": "pop3",
             "pop3s": "pop3", "imap": "imap", "imaps": "imap"}
IMPLICIT = ("smtps", "pop3s", "imaps")
PAUSED_RCVBUF = 16384		# what a paused proxy lets the kernel hold


class Upstream:
    """One protocol's upstream for one case: where the relay dials it, how
    it speaks TLS, the server or proxy behind it (its accepted count,
    events and transcripts) and what to show when the case fails."""

    def __init__(self, port, tls, server=None, notes=None):
        self.port = port if port is not None else server.port
        self.tls = tls
        self.server = server
        self.notes = notes or (lambda: [])

    @property
    def accepted(self):
        """Connections the server or proxy accepted (0 if not counted)."""
        return self.server.accepted if self.server is not None else 0

    def settings(self, pki):
        """The relay's upstreams.<protocol> group."""
        return {"host": "localhost", "port": self.port, "tls": self.tls,
                "ca_file": pki.ca}

    def describe(self):
        """Diagnostic lines: the server's connections, events and
        transcripts, then the notes."""
        out = []
        s = self.server
        if s is not None and hasattr(s, "transcripts"):
            out.append("scripted upstream (%s): %d connection(s), events %s"
                       % (s.mode, s.accepted, s.events))
            for i, t in enumerate(s.transcripts):
                out += ["  #%d %s: %s" % (i, d, text[:120]) for d, text in t]
        elif s is not None:
            out.append("upstream proxy: %d connection(s)" % s.accepted)
        return out + self.notes()

    def stop(self):
        """Stop the server or proxy, if any."""
        if self.server is not None:
            self.server.stop()


class Upstreams(dict):
    """The case's upstreams by protocol (ctx.upstreams)."""

    @property
    def accepted(self):
        """Connections made to every upstream together."""
        return sum(u.accepted for u in self.values())

    def count(self, protocol):
        """Connections made to one protocol's upstream."""
        u = self.get(protocol)
        return u.accepted if u else 0


def _tail(fixture, n):
    """A notes function: the last n lines of a Postfix or Dovecot log."""
    return lambda: ["%s log (last lines):" % type(fixture).__name__] + \
        ["  " + l for l in fixture.tail(n).splitlines()]


def prepare_mailbox(ctx, mailbox, default=None):
    """Make mailbox the case's (ctx.mailbox) and fill it as Case.seed says
    (None: default, which None leaves alone; False: emptied; a list of
    (id, text): emptied and seeded); once per case."""
    ctx.mailbox = mailbox
    if getattr(ctx, "mailbox_ready", False):
        return
    ctx.mailbox_ready = True
    seed = default if ctx.case.seed is None else ctx.case.seed
    if seed is None:
        return
    mailbox.reset()
    if seed:
        mailbox.seed(seed)


def _scripted(ctx, protocol, server, tls):
    """An Upstream for a started scripted server; ctx.faults[protocol] and
    ctx.fault (the first one) are the server."""
    ctx.faults[protocol] = server
    if ctx.fault is None:
        ctx.fault = server
    return Upstream(server.port, tls, server)


def smtp_upstream(ctx, name):
    """postfix, postfix-proxy (Postfix behind a CountingProxy the case can
    pause(): an upstream that reads slowly), down, or a
    harness/faultserver.py mode (STARTTLS)."""
    if name == "postfix":
        return Upstream(ctx.postfix.port, "starttls",
                        notes=_tail(ctx.postfix, 8))
    if name == "postfix-proxy":
        return Upstream(None, "starttls", CountingProxy(
            ctx.postfix.port, "smtp", rcvbuf=PAUSED_RCVBUF),
            notes=_tail(ctx.postfix, 8))
    if name == "down":
        return Upstream(closed_port(), "starttls")
    if name in SMTP_FAULTS:
        return _scripted(ctx, "smtp", FaultServer(ctx.pki, name).start(),
                         "starttls")
    return None


def pop3_upstream(ctx, name):
    """pop3s, pop3-stls or wrongname (Dovecot, seeded mailbox), down,
    counting, or a harness/pop3fault.py mode."""
    if name in ("pop3s", "pop3-stls", "wrongname"):
        d = upstream_dovecot(ctx.run, "wrongname" if name == "wrongname"
                             else "localhost")
        prepare_mailbox(ctx, Mailbox(d), make_messages(ctx.case.name))
        if name == "pop3-stls":
            return Upstream(d.pop3_port, "starttls", notes=_tail(d, 12))
        return Upstream(d.pop3s_port, "implicit", notes=_tail(d, 12))
    if name == "down":
        return Upstream(closed_port(), "implicit")
    if name == "counting":
        return _scripted(ctx, "pop3", FaultServer(ctx.pki, name).start(),
                         "implicit")
    if name in POP3_FAULTS:
        ctx.pop3_fault = Pop3FaultServer(ctx.pki, name).start()
        return _scripted(ctx, "pop3", ctx.pop3_fault,
                         "starttls" if name == "nostls" else "implicit")
    return None


def imap_upstream(ctx, name):
    """dovecot (IMAPS), dovecot-starttls, down, or an ImapFaultServer
    mode (implicit TLS)."""
    if name == "dovecot":
        return Upstream(imap_dovecot(ctx.run).imaps_port, "implicit")
    if name == "dovecot-starttls":
        return Upstream(imap_dovecot(ctx.run).imap_port, "starttls")
    if name == "down":
        return Upstream(closed_port(), "implicit")
    if name in IMAP_FAULTS:
        return _scripted(ctx, "imap",
                         ImapFaultServer(ctx.pki, name).start(), "implicit")
    return None


def oauth_upstream(ctx, protocol):
    """The OAuth2 Postfix (STARTTLS) or Dovecot (implicit TLS) of the
    tokens fixture, through a counting proxy."""
    fx = getattr(ctx, "oauth", None)
    if fx is None:
        raise FixtureError("upstream \"oauth\" needs fixtures=[tokens()]")
    return Upstream(None, "starttls" if protocol == "smtp" else "implicit",
                    CountingProxy(fx.port(protocol), protocol))


UPSTREAMS = {"smtp": smtp_upstream, "pop3": pop3_upstream,
             "imap": imap_upstream}


def start_upstream(ctx, protocol, name):
    """Start the upstream called name for protocol (see UPSTREAMS)."""
    if name == "oauth":
        return oauth_upstream(ctx, protocol)
    upstream = UPSTREAMS[protocol](ctx, name)
    if upstream is None:
        raise FixtureError("unknown %s upstream %r" % (protocol, name))
    return upstream


class Fixture:
    """A service a case declares in Case.fixtures."""

    def start(self, ctx):
        """Before the upstreams start."""

    def configure(self, ctx, settings):
        """After the upstreams: add to the relay's settings and devices."""

    def check(self, ctx):
        """After the client: fail the case if the service saw the wrong
        thing."""

    def notes(self, ctx):
        """Lines to show when the case fails."""
        return []

    def stop(self, ctx):
        """At the end of the case."""


class tokens(Fixture):
    """The token server and the OAuth2 upstreams (harness/oauth.py): the
    server is reset (a fresh app secret, expires_in in its answers, no
    tokens, zero counters; ctx.tokens), the relay gets an oauth2 section
    (credential "secret" or "certificate"; app_secret is what its secret
    file holds, by default the right one) and its devices' secrets are
    hashed. After the client: every session ended, token_requests (a
    number or predicate) requests were made, the server refused none of
    them (unless requests_valid is False) and no token is in the log.
    ctx.oauth is the OAuthUpstreams, ctx.postfix the OAuth2 Postfix,
    ctx.mailbox the OAuth2 Dovecot's test mailbox."""

    def __init__(self, credential="secret", app_secret=None,
                 expires_in=3599, token_requests=None, requests_valid=True):
        self.credential = credential
        self.app_secret = app_secret
        self.expires_in = expires_in
        self.token_requests = token_requests
        self.requests_valid = requests_valid

    def start(self, ctx):
        """Start (or reuse) the OAuth2 upstreams; reset the token server."""
        fx = oauth_upstreams(ctx.run)
        ctx.oauth = fx
        ctx.postfix = fx.postfix
        ctx.tokens = fx.tokens.reset(expires_in=self.expires_in)
        prepare_mailbox(ctx, fx.mailbox)

    def configure(self, ctx, settings):
        """The oauth2 section and hashed device secrets."""
        settings["oauth2"] = oauth_section(ctx, self.credential,
                                           self.app_secret)
        ctx.relay.devices = hashed_devices(ctx, ctx.relay.devices)

    def check(self, ctx):
        """Sessions ended, token requests, no token logged."""
        if ctx.relay.started:
            wait_sessions_ended(ctx)
        check_token_requests(ctx, self.token_requests, self.requests_valid)
        check_no_tokens(ctx)

    def notes(self, ctx):
        """The token server's requests and the OAuth2 upstreams' logs."""
        fx = getattr(ctx, "oauth", None)
        if fx is None:
            return []
        out = fx.tokens.describe()
        out.append("upstream connections: %s" % {
            p: ctx.upstreams.count(p) for p in ctx.case.protocols})
        out += _tail(fx.dovecot, 10)()
        if "smtp" in ctx.case.protocols:
            out += _tail(fx.postfix, 8)()
        return out


class mx(Fixture):
    """The MX stand-in (harness/mx.py) behind a counting proxy, as the
    relay's upstreams.connector group with certificate (a kind for
    connector_certificate, or (cert, key)), accepted_domains and host;
    ca_file(pki) gives the CA the relay verifies it with (default the
    test CA). After the client: every session ended and the stand-in got
    connections (a number or predicate) connections. ctx.mx and
    ctx.postfix are the stand-in (delivered= looks in its maildir),
    ctx.connector the proxy, ctx.mx_log() its log since the case began."""

    def __init__(self, certificate="connector",
                 accepted_domains=(ACCEPTED_DOMAIN,), host="localhost",
                 ca_file=None, connections=None):
        self.certificate = certificate
        self.accepted_domains = accepted_domains
        self.host = host
        self.ca_file = ca_file
        self.connections = connections

    def start(self, ctx):
        """Start (or reuse) the stand-in and open the proxy."""
        standin = mx_standin(ctx.run)
        ctx.mx = ctx.postfix = standin
        mark = standin.log_mark()
        ctx.mx_log = lambda: standin.log_since(mark)
        ctx.connector = CountingProxy(standin.port, "connector")

    def configure(self, ctx, settings):
        """upstreams.connector through the proxy."""
        cert, key = connector_certificate(ctx.pki, self.certificate)
        settings["upstreams"]["connector"] = connector_upstream(
            self.host, ctx.connector.port, cert, key, self.accepted_domains,
            self.ca_file(ctx.pki) if self.ca_file else ctx.pki.ca)

    def check(self, ctx):
        """Sessions ended; the stand-in's connection count."""
        if ctx.relay.started:
            wait_sessions_ended(ctx)
        check_count(ctx.connector, self.connections)

    def notes(self, ctx):
        """Connections and the stand-in's log."""
        if getattr(ctx, "connector", None) is None:
            return []
        return ["connector connections: %d" % ctx.connector.accepted,
                "MX stand-in log since the case began (last lines):"] + \
            ["  " + l for l in ctx.mx_log()[-12:]]

    def stop(self, ctx):
        """Close the proxy (if it was opened)."""
        if getattr(ctx, "connector", None) is not None:
            ctx.connector.stop()


def relay_settings(ctx, case):
    """The relay's main settings: a listener per name in case.listeners,
    the upstreams of ctx.upstreams (case.settings is applied later)."""
    listeners = []
    for name in case.listeners:
        port = free_port()
        ctx.listener_ports[name] = port
        listeners.append({"name": name, "protocol": LISTENERS[name],
                          "address": "127.0.0.1", "port": port,
                          "tls": "implicit" if name in IMPLICIT
                          else "plain"})
    return base_settings(ctx.pki, listeners,
                         {p: u.settings(ctx.pki)
                          for p, u in ctx.upstreams.items()})
