"""The declarative case format and the context a case's client runs in.

A case file (cases/NN_name.py) defines CASE = Case(...): which upstream the
relay points at, the devices file, the client dialogue (a function of a
Context), and what must be true afterwards (message delivered or not, the
session log line, how many upstream connections were made).
"""

import smtplib

from . import clients
from .clients import legacy_context
from .dovecot import PASSWORD, USER
from .relay import days_until


class CaseFailure(Exception):
    """An expectation of the case did not hold."""


# Listeners a protocol gets when a case names none: plain (STARTTLS or
# STLS offered) and implicit TLS.
PROTOCOL_LISTENERS = {"smtp": ("smtp", "smtps"), "pop3": ("pop3", "pop3s"),
                      "imap": ("imap", "imaps")}
DEFAULT = object()		# "the protocol's default upstream"
DEFAULT_UPSTREAM = {"smtp": "postfix", "pop3": "pop3s", "imap": "dovecot"}


class Case:
    """One end-to-end case.

    protocols: the relay's protocols ("smtp", "pop3", "imap").
    upstream: the name of each protocol's upstream in harness/fixtures.py
        (SMTP: "postfix", a FaultServer mode, "down"; POP3: "pop3s",
        "pop3-stls", "wrongname", "counting", "down", a pop3fault mode;
        IMAP: "dovecot", "dovecot-starttls", "down", an ImapFaultServer
        mode; any: "oauth"), a {protocol: name} dict, or None when the
        case talks to the fixtures directly (relay=False). Left out: each
        protocol's default ("postfix", "pop3s", "dovecot").
    fixtures: services the case uses besides its upstreams
        (harness.fixtures.tokens(...), mx(...)), with their checks.
    devices: the devices file (list of relay.device(...) dicts).
    listeners: listener names ("smtp", "smtps", "pop3", "pop3s", "imap",
        "imaps"; "...s" is implicit TLS); by default both of every
        protocol's.
    client: function(ctx) that runs the dialogue and raises CaseFailure
        (via ctx.check/ctx.expect_code) when a reply is wrong.
    delivered: True (ctx.msgid must arrive in the maildir), False (must not),
        None (not checked).
    log: fields the session line must have, e.g. {"event": "end",
        "result": "ok"}; values may be a str, a set of allowed strs or a
        predicate. event defaults to "end". None: not checked.
    upstream_connections: exact number of connections the case's scripted
        upstreams and counting proxies accepted together, or a predicate
        on that number, or None.
    seed: the test mailbox (ctx.mailbox) of a Dovecot upstream: None (the
        upstream's default: the POP3 Dovecot's is emptied and seeded with
        pop3.make_messages(), the others are left alone), False (emptied)
        or a list of (id, text) messages (emptied, then saved in order).
    needs: external programs the case needs (missing ones skip the case).
    settings: function(dict) -> None that edits the relay's main settings
        (after the upstreams and fixtures added theirs).
    debug: run tlsrelayd with -d.
    start: False to have the runner only write the relay's config files
        (ctx.relay is set but not running): for check-mode cases and cases
        that start the daemon themselves. A daemon the runner started must
        exit 0 on SIGTERM at the end.
    Every case also checks that no password it used appears in the log.
    """

    def __init__(self, doc, client, upstream=DEFAULT, devices=(),
                 listeners=None, delivered=None, log=None,
                 upstream_connections=None, needs=(), relay=True,
                 settings=None, debug=False, start=True, protocols=("smtp",),
                 fixtures=(), seed=None):
        self.doc = doc
        self.client = client
        self.protocols = tuple(protocols)
        self.upstreams = _upstream_names(self.protocols, upstream)
        self.fixtures = list(fixtures)
        self.devices = list(devices)
        self.listeners = tuple(listeners if listeners is not None else
                               [n for p in self.protocols
                                for n in PROTOCOL_LISTENERS[p]])
        self.delivered = delivered
        self.log = log
        self.upstream_connections = upstream_connections
        self.seed = seed
        self.needs = tuple(needs)
        self.relay = relay
        self.settings = settings
        self.debug = debug
        self.start = start
        self.name = None	# set by the runner from the file name


def _upstream_names(protocols, upstream):
    """{protocol: upstream name} from Case's upstream argument."""
    if upstream is None:
        return {}
    if upstream is DEFAULT:
        upstream = DEFAULT_UPSTREAM
    if isinstance(upstream, dict):
        return {p: upstream.get(p, DEFAULT_UPSTREAM[p]) for p in protocols}
    return {p: upstream for p in protocols}


class Context:
    """What a case's client function gets: fixtures, ports and checks."""

    def __init__(self, run, case):
        self.run = run			# the TestRun with the shared fixtures
        self.case = case
        self.pki = run.pki
        self.postfix = run.postfix
        self.relay = None		# harness.relay.Relay, when case.relay
        self.upstreams = None		# harness.fixtures.Upstreams
        self.faults = {}		# protocol -> its scripted upstream
        self.fault = None		# the first scripted upstream, or None
        self.pop3_fault = None		# a harness/pop3fault.py upstream
        self.mailbox = None		# the test mailbox of a Dovecot upstream
        self.upstream_port = None
        self.listener_ports = {}
        self.user = USER
        self.password = PASSWORD
        self.secrets = {PASSWORD}	# must never appear in the relay log
        self.msgid = clients.unique_id(case.name or "case")
        self.notes = []			# extra lines shown on failure
        self._open = []

    def port(self, listener="smtp"):
        """The port of one of the relay's listeners."""
        return self.listener_ports[listener]

    def check(self, cond, message):
        """Fail the case with message unless cond holds."""
        if not cond:
            raise CaseFailure(message)

    def expect_code(self, reply, allowed, what):
        """Check an SMTP reply (code, text) has a code in allowed."""
        code, text = reply[0], reply[1]
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        if isinstance(text, list):
            text = " / ".join(text)
        if isinstance(allowed, int):
            allowed = (allowed,)
        if code not in allowed:
            if isinstance(allowed, range):
                want = "%dxx" % (allowed.start // 100)
            else:
                want = "/".join(map(str, allowed))
            raise CaseFailure("%s: expected %s, got %s %s"
                              % (what, want, code, text))
        return text

    def smtp(self, listener="smtp", source=None, tls_version=None,
             host="127.0.0.1", port=None):
        """Connect smtplib to a relay listener (implicit TLS listeners get a
        legacy client pinned to tls_version, TLS 1.0 by default).

        Returns (smtp, (code, greeting-bytes)); closed at the end of the case.
        """
        implicit = None
        if listener == "smtps":
            implicit = legacy_context(tls_version or
                                      clients.ssl.TLSVersion.TLSv1)
        s, greeting = clients.smtp_connect(
            port or self.port(listener), host=host, source=source,
            implicit_ctx=implicit)
        self._open.append(s)
        return s, greeting

    def raw(self, listener="smtp", source=None):
        """A RawClient to a relay listener; closed at the end of the case."""
        c = clients.RawClient(self.port(listener), source=source)
        self._open.append(c)
        return c

    def ehlo(self, s, name="scanner.lan"):
        """EHLO and check for 250; returns the capability keywords."""
        self.expect_code(s.ehlo(name), 250, "EHLO")
        return set(s.esmtp_features)

    def starttls(self, s, tls_version=None, name="scanner.lan"):
        """STARTTLS with a legacy client context, then EHLO again."""
        ctx = legacy_context(tls_version or clients.ssl.TLSVersion.TLSv1)
        reply = s.starttls(context=ctx)
        self.expect_code(reply, 220, "STARTTLS")
        self.check(s.sock.version() == _tls_name(ctx.maximum_version),
                   "LAN TLS is %s, not the pinned version"
                   % s.sock.version())
        return self.ehlo(s, name)

    def send(self, s, msgid=None):
        """MAIL/RCPT/DATA a message carrying msgid (ctx.msgid by default);
        raises CaseFailure with the reply if the relay refuses it."""
        try:
            clients.send_message(s, msgid or self.msgid)
        except smtplib.SMTPException as e:
            raise CaseFailure("sending the message failed: %r" % (e,))

    def known_devices(self):
        """Every device the relay was given during the case, by name."""
        devices = {d["name"]: d for d in self.case.devices}
        if self.relay is not None:
            devices.update({d["name"]: d for d in self.relay.devices})
        return devices

    def check_sunset(self, fields):
        """A log line naming a device must carry its sunset and the right
        days_left."""
        check_sunset_fields(fields, self.known_devices())

    def note(self, text):
        """Add a line to the diagnostics printed if the case fails."""
        self.notes.append(text)

    def close_clients(self):
        """Close every client the case opened."""
        for c in self._open:
            if isinstance(c, smtplib.SMTP):
                clients.close_quietly(c)
            else:
                c.close()
        self._open = []


def check_sunset_fields(fields, devices):
    """A line naming a device must carry its sunset and days_left."""
    dev = devices.get(fields.get("device"))
    if dev is None:
        return
    want_days = str(days_until(dev["sunset"]))
    if fields.get("sunset") != dev["sunset"] or \
            fields.get("days_left") != want_days:
        raise CaseFailure("log line for device %s has sunset=%s days_left=%s,"
                          " expected sunset=%s days_left=%s"
                          % (dev["name"], fields.get("sunset"),
                             fields.get("days_left"), dev["sunset"],
                             want_days))


def _tls_name(version):
    """ssl.TLSVersion -> the name ssl.SSLSocket.version() reports."""
    return {"TLSv1": "TLSv1", "TLSv1_1": "TLSv1.1", "TLSv1_2": "TLSv1.2",
            "TLSv1_3": "TLSv1.3"}[version.name]
