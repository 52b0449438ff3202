"""IMAP for the end-to-end cases: the relay's IMAP listeners, a Dovecot
IMAPS upstream, a scripted misbehaving IMAP upstream, and clients.

An IMAP case is a Case with protocols=("imap",): the relay gets the IMAP
listeners ("imap": plain with STARTTLS offered, "imaps": implicit TLS) and
upstreams.imap pointing at the upstream harness/fixtures.py starts for
its name. imap_case(...) is the compatibility wrapper of the earlier
form.
"""

import base64
import imaplib
import os
import re
import ssl
import subprocess

from .case import Case, CaseFailure
from .clients import RawClient, legacy_context, make_message, unique_id, \
    xoauth2_decode
from .dovecot import USER, Dovecot
from .scripted import ScriptedServer
from .util import FixtureError, free_port, wait_until

TIMEOUT = 20
FAULT_MODES = ("preauth", "wrongname", "counting", "oldserver", "exchange",
               "exchange-xoauth2")
EXCHANGE_REFUSAL = "NO AUTHENTICATE failed."
# What exchange-xoauth2 offers, as Exchange Online's CAPABILITY does.
EXCHANGE_CAPS = ("IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS "
                 "MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+")
# The error challenge of exchange-xoauth2's even connections (decoded).
ERROR_CHALLENGE = ('{"status":"401","schemes":"bearer",'
                   '"scope":"https://outlook.office365.com/.default"}')
KNOWN_SUBJECT = "tlsrelay known message"


def imap_case(doc, client, upstream="dovecot", **kw):
    """Compatibility wrapper for case files written before the declarative
    Case: Case(doc, client, protocols=("imap",), upstream=upstream, ...);
    the other arguments are Case's."""
    return Case(doc, client, protocols=("imap",), upstream=upstream, **kw)


def imap_dovecot(run):
    """The run's IMAP Dovecot (IMAPS and IMAP with STARTTLS, TLS 1.2+,
    logins only over TLS), started on first use, with one known message
    in the INBOX (run.imap_known)."""
    dovecot = getattr(run, "imap_dovecot", None)
    if dovecot is None:
        dovecot = Dovecot(os.path.join(run.dir, "imap", "dovecot"), run.pki,
                          imap_port=free_port(),
                          imaps_port=free_port()).start()
        run.imap_dovecot = dovecot
        run.imap_known = unique_id("known")
        deliver(dovecot, run.imap_known, subject=KNOWN_SUBJECT)
    return dovecot


def doveadm(dovecot, args, input=None):
    """Run doveadm on the test Dovecot; returns its output."""
    p = subprocess.run(["doveadm", "-c", dovecot.conf] + list(args),
                       input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    if p.returncode != 0:
        raise FixtureError("doveadm %s failed (exit %d): %s"
                           % (" ".join(args), p.returncode, p.stdout))
    return p.stdout


def deliver(dovecot, msgid, mailbox="INBOX", subject="tlsrelay test"):
    """Put a message carrying msgid straight into a mailbox."""
    doveadm(dovecot, ["save", "-u", USER, "-m", mailbox],
            input=make_message(msgid, subject=subject))


def stored(dovecot, msgid, mailbox="INBOX"):
    """Does the mailbox hold a message whose body carries msgid?"""
    return bool(doveadm(dovecot, ["search", "-u", USER, "mailbox", mailbox,
                                  "body", msgid]).strip())


class _Quiet:
    """Makes an imaplib client closable by Context.close_clients."""

    def __init__(self, imap):
        self.imap = imap

    def close(self):
        try:
            self.imap.shutdown()
        except Exception:
            pass


def connect(ctx, listener="imap", tls_version=ssl.TLSVersion.TLSv1):
    """imaplib to a relay listener: IMAP4_SSL pinned to tls_version for
    "imaps", plain IMAP4 otherwise; closed at the end of the case."""
    port = ctx.port(listener)
    if listener == "imaps":
        imap = imaplib.IMAP4_SSL("127.0.0.1", port, timeout=TIMEOUT,
                                 ssl_context=legacy_context(tls_version))
    else:
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    ctx._open.append(_Quiet(imap))
    return imap


def expect_ok(ctx, result, what):
    """Check an imaplib (typ, data) result is OK; returns data."""
    typ, data = result
    ctx.check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data


def mailbox_session(ctx, imap):
    """After login: LIST shows the folders, SELECT INBOX, FETCH the known
    message, APPEND a new one (ctx.msgid) that Dovecot then holds."""
    names = expect_ok(ctx, imap.list(), "LIST")
    ctx.check(any(b'"INBOX"' in n or n.endswith(b" INBOX") for n in names),
              "LIST does not show INBOX: %r" % names)
    expect_ok(ctx, imap.select("INBOX"), "SELECT INBOX")
    known = ctx.run.imap_known
    found = expect_ok(ctx, imap.search(None, "BODY", known), "SEARCH")
    ctx.check(found and found[0].split(), "SEARCH found no known message")
    num = found[0].split()[0]
    data = expect_ok(ctx, imap.fetch(num, "(BODY.PEEK[])"), "FETCH")
    ctx.check(known.encode() in data[0][1],
              "FETCH did not return the known message: %r" % data[0][:1])
    expect_ok(ctx, imap.append("INBOX", None, None,
                               make_message(ctx.msgid).encode()), "APPEND")
    ctx.check(stored(ctx.run.imap_dovecot, ctx.msgid),
              "the APPENDed message %s is not in Dovecot" % ctx.msgid)


def logout(ctx, imap):
    """LOGOUT through the relay: BYE expected."""
    typ, data = imap.logout()
    ctx.check(typ == "BYE", "LOGOUT: %s %r" % (typ, data))


def capabilities(imap):
    """The capability words imaplib saw (upper case)."""
    return {c.upper() for c in imap.capabilities}


class RawImap(RawClient):
    """A line-level IMAP client for dialogues imaplib cannot express."""

    def until_tagged(self, tag):
        """Lines up to and including the one tagged tag (or EOF)."""
        lines = []
        while True:
            line = self.line()
            if line is None:
                return lines
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def command(self, tag, text):
        """Send "tag text" and return the response lines."""
        self.send("%s %s\r\n" % (tag, text))
        return self.until_tagged(tag)


def raw(ctx, listener="imap", source=None, tls_version=None):
    """A RawImap to a relay listener ("imaps": TLS pinned to tls_version,
    TLS 1.0 by default); closed at the end of the case."""
    tls = None
    if listener == "imaps":
        tls = legacy_context(tls_version or ssl.TLSVersion.TLSv1)
    c = RawImap(ctx.port(listener), source=source, tls=tls)
    ctx._open.append(c)
    return c


def refused_with_bye(ctx, source=None, listener="imap"):
    """Connect, expect a "* BYE" greeting, then a closed connection."""
    c = raw(ctx, listener, source=source)
    greeting = c.line()
    ctx.check(greeting is not None and greeting.startswith("* BYE "),
              "greeting: expected * BYE, got %r" % greeting)
    closed, rest = c.wait_closed(10)
    ctx.check(closed, "relay did not close the refused connection")
    return greeting


def login_tagged(ctx, c, password=None, tag="A1"):
    """LOGIN with quoted strings; returns the tagged response line."""
    if password:
        ctx.secrets.add(password)
    lines = c.command(tag, 'LOGIN "%s" "%s"'
                      % (ctx.user, password or ctx.password))
    ctx.check(lines and lines[-1].startswith(tag + " "),
              "no tagged answer to LOGIN: %r" % lines)
    return lines[-1]


def no_credentials_upstream(ctx):
    """The fault upstream must not have received LOGIN or AUTHENTICATE."""
    for transcript in ctx.fault.transcripts:
        for direction, text in transcript:
            words = text.upper().split()
            ctx.check(not (direction == "C" and len(words) > 1 and
                           words[1] in ("LOGIN", "AUTHENTICATE")),
                      "relay sent credentials upstream: %r" % text)


class ImapFaultServer(ScriptedServer):
    """A scripted IMAPS upstream (implicit TLS 1.2+) on 127.0.0.1.

    Modes: preauth (greets "* PREAUTH": a login the relay must refuse),
    wrongname (a CA-signed certificate for wrong.example), counting
    (closes at once: for cases that expect no upstream contact),
    oldserver (a greeting without capabilities; the first connection
    offers AUTH=PLAIN without SASL-IR, later ones neither AUTH=PLAIN nor
    LITERAL+, so the relay must use LOGIN; each login is recorded as the
    event "auth: MECH user password"), exchange (as the first oldserver
    connection, every time, but each login is refused as Exchange Online
    refuses it: "NO AUTHENTICATE failed."), exchange-xoauth2 (Exchange
    Online refusing the app's token: CAPABILITY offers EXCHANGE_CAPS;
    "AUTHENTICATE XOAUTH2 <ir>", or "AUTHENTICATE XOAUTH2", "+ " and the
    string, is recorded as the event "auth: XOAUTH2 user token"; odd
    connections are then refused at once with "NO AUTHENTICATE failed.",
    as Exchange answers, even ones first get an error challenge ("+ " and
    base64 ERROR_CHALLENGE, which a server may send) and the refusal after
    the relay's answer line; AUTHENTICATE PLAIN is refused too). Counts
    connections and keeps what the relay sent, like FaultServer.
    """

    MODES = FAULT_MODES

    def _tls(self):
        """The server context: TLS 1.2+, the mode's certificate."""
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(*(self.pki.wrongname if self.mode == "wrongname"
                              else self.pki.localhost))
        return tls

    def _serve(self, conn, transcript, number):
        """Run one connection's script."""
        conn.settimeout(30)
        try:
            if self.mode == "counting":
                return
            sock = self._tls().wrap_socket(conn, server_side=True)
            self.event("tls_ok: %s" % sock.version())
            if self.mode in ("oldserver", "exchange", "exchange-xoauth2"):
                _OldServer(self, sock, transcript, number).run()
                return
            greeting = "* PREAUTH [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR]" \
                " logged in as " + USER
            transcript.append(("S", greeting))
            sock.sendall(greeting.encode() + b"\r\n")
            buf = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    transcript.append(("C", line.rstrip(b"\r").decode(
                        errors="replace")))
        except (OSError, ssl.SSLError) as e:
            self.event("closed: %r" % e)
        finally:
            conn.close()


class _OldServer:
    """One connection of the oldserver mode: a minimal IMAP server."""

    def __init__(self, server, sock, transcript, number):
        self.server = server
        self.sock = sock
        self.transcript = transcript
        self.caps = "IMAP4rev1 AUTH=PLAIN" if number == 1 or \
            server.mode == "exchange" else "IMAP4rev1"
        if server.mode == "exchange-xoauth2":
            self.caps = EXCHANGE_CAPS
        self.number = number
        self.buf = b""

    def send(self, text):
        """Send one response line."""
        self.transcript.append(("S", text))
        self.sock.sendall(text.encode() + b"\r\n")

    def read(self, n):
        """Exactly n bytes, or None at EOF."""
        while len(self.buf) < n:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def line(self):
        """One line without CRLF (bytes), or None at EOF."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def command(self):
        """A whole command with its literals, as [bytes], or None."""
        parts = []
        while True:
            line = self.line()
            if line is None:
                return None
            self.transcript.append(("C", line.decode(errors="replace")))
            m = re.search(rb"\{(\d+)(\+?)\}$", line)
            if not m:
                parts.append(line)
                return parts
            parts.append(line[:m.start()])
            if not m.group(2):
                self.send("+ go ahead")
            data = self.read(int(m.group(1)))
            if data is None:
                return None
            parts.append(data)

    def run(self):
        """Greet without capabilities and serve until LOGOUT or EOF."""
        self.send("* OK fault IMAP4rev1 server ready")
        while True:
            parts = self.command()
            if parts is None:
                return
            tag, _, rest = parts[0].decode(errors="replace").partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                self.send("* CAPABILITY " + self.caps)
                self.send(tag + " OK CAPABILITY completed")
            elif verb == "AUTHENTICATE" and "AUTH=PLAIN" in self.caps:
                self.authenticate(tag, rest)
            elif verb == "LOGIN" and "AUTH=PLAIN" not in self.caps:
                user, password = _astrings(parts)
                self.logged_in(tag, "LOGIN", user, password)
            elif verb == "NOOP":
                self.send(tag + " OK NOOP completed")
            elif verb == "LOGOUT":
                self.send("* BYE fault server logging out")
                self.send(tag + " OK LOGOUT completed")
                return
            else:
                self.send(tag + " BAD unexpected command")

    def authenticate(self, tag, rest):
        """AUTHENTICATE PLAIN by continuation (no SASL-IR offered); in mode
        exchange-xoauth2, XOAUTH2 refused."""
        if self.server.mode == "exchange-xoauth2":
            self.xoauth2(tag, rest.split(" ")[1:])
            return
        if rest.upper() != "AUTHENTICATE PLAIN":
            self.send(tag + " BAD SASL-IR not offered")
            return
        self.send("+ ")
        answer = self.line()
        fields = base64.b64decode(answer).decode().split("\0")
        self.logged_in(tag, "PLAIN", fields[1], fields[2])

    def xoauth2(self, tag, args):
        """AUTHENTICATE in mode exchange-xoauth2 (see ImapFaultServer)."""
        if not args or args[0].upper() != "XOAUTH2":
            self.send("%s %s" % (tag, EXCHANGE_REFUSAL))
            return
        if len(args) > 1:
            blob = args[1]
        else:
            self.send("+ ")
            blob = self.line()
            if blob is None:
                return
            self.transcript.append(("C", blob.decode(errors="replace")))
            blob = blob.decode(errors="replace")
        try:
            user, token = xoauth2_decode(blob)
        except ValueError:
            user = token = "(undecodable)"
        self.server.event("auth: XOAUTH2 %s %s" % (user, token))
        if self.number % 2 == 0:
            self.send("+ " + base64.b64encode(
                ERROR_CHALLENGE.encode()).decode())
            answer = self.line()
            if answer is None:
                return
            self.transcript.append(("C", answer.decode(errors="replace")))
        self.send("%s %s" % (tag, EXCHANGE_REFUSAL))

    def logged_in(self, tag, mech, user, password):
        """Record the login and accept it (refuse it in mode exchange)."""
        self.server.event("auth: %s %s %s" % (mech, user, password))
        if self.server.mode == "exchange":
            self.send("%s %s" % (tag, EXCHANGE_REFUSAL))
            return
        self.send(tag + " OK [CAPABILITY IMAP4rev1 IDLE] Logged in")


def _astrings(parts):
    """User and password of a LOGIN command split at its literals: each an
    atom, a quoted string (with escapes) or a literal."""
    values = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            values.append(part.decode())
            continue
        text = part.decode()
        if i == 0:
            text = text.split(" ", 2)[2] if text.count(" ") >= 2 else ""
        values += [_unquote(t) for t in
                   re.findall(r'"(?:[^"\\]|\\.)*"|[^ ]+', text)]
    return values[0], values[1]


def _unquote(token):
    """An atom as it is; a quoted string without quotes and escapes."""
    if token.startswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def exists_count(line):
    """n of a "* n EXISTS" line, else None."""
    m = re.match(r"\* (\d+) EXISTS", line or "")
    return int(m.group(1)) if m else None


def wait_for(predicate, timeout, what):
    """wait_until that fails the case instead of raising TimeoutError."""
    try:
        return wait_until(predicate, timeout, what=what)
    except TimeoutError as e:
        raise CaseFailure(str(e))
