"""POP3 cases: a Dovecot POP3 upstream with a seeded mailbox, the relay's
POP3 listeners, and the POP3 clients (poplib, a raw client, curl,
fetchmail).

The upstream Dovecot (one per run and certificate, started on first use)
serves POP3S (implicit TLS) and a plain POP3 port that needs STLS; both
speak TLS 1.2+ only and take logins only over TLS. Each case empties the
test mailbox and saves three known messages with doveadm: a plain one, one
with lines that start with a dot (one is a lone "."), and one bigger than
the relay's 256 KB high-water mark, so a retrieval exercises dot-stuffing
and backpressure.
"""

import os
import poplib
import re
import subprocess

from .case import Case, CaseFailure
from .clients import RawClient, TIMEOUT, legacy_context, unique_id
from .dovecot import USER, Dovecot
from .util import FixtureError, free_port, run, write_file

LISTENERS = ("pop3", "pop3s")	# plain (STLS offered) and implicit TLS
BIG_LINES = 9000		# about 700 KB: over the relay's high-water mark
TLS10 = "TLSv1"			# what ssl.SSLSocket.version() says for TLS 1.0

_DOVECOTS = {}


def upstream_dovecot(run, cert="localhost"):
    """The run's POP3 Dovecot presenting pki.<cert> (started on first use,
    stopped with the run's cleanups)."""
    key = (run.dir, cert)
    d = _DOVECOTS.get(key)
    if d is None or d.proc is None or d.proc.poll() is not None:
        d = Dovecot(os.path.join(run.dir, "pop3", cert), run.pki,
                    pop3_port=free_port(), pop3s_port=free_port(),
                    cert=getattr(run.pki, cert)).start()
        _DOVECOTS[key] = d
    return d


class Mailbox:
    """The test user's INBOX on the upstream Dovecot, through doveadm."""

    def __init__(self, dovecot, user=USER):
        self.dovecot = dovecot
        self.user = user
        self.messages = []	# (id, text) in the order they were saved

    def doveadm(self, *args, text=None, check=True):
        """Run doveadm on this Dovecot's configuration."""
        return run(["doveadm", "-c", self.dovecot.conf] + list(args),
                   input=text, check=check)

    def reset(self):
        """Expunge every message."""
        self.doveadm("expunge", "-u", self.user, "mailbox", "INBOX", "all",
                     check=False)
        self.messages = []
        if self.count() != 0:
            raise FixtureError("cannot empty the POP3 test mailbox")

    def seed(self, messages):
        """Save (id, text) messages into INBOX, in order."""
        for msgid, text in messages:
            self.doveadm("save", "-u", self.user, "-m", "INBOX", text=text)
            self.messages.append((msgid, text))

    def count(self):
        """How many messages INBOX holds now."""
        out = self.doveadm("mailbox", "status", "-u", self.user, "messages",
                           "INBOX").stdout
        m = re.search(r"messages=(\d+)", out)
        if m is None:
            raise FixtureError("doveadm mailbox status: %r" % out)
        return int(m.group(1))


def make_messages(name, big_lines=BIG_LINES):
    """Three messages with unique ids: plain, dotted lines, and a big one
    of big_lines lines (76 bytes each)."""
    def head(msgid, what):
        return ("From: scanner@example.test\r\nTo: inbox@example.test\r\n"
                "Subject: tlsrelay pop3 %s %s\r\n"
                "Message-ID: <%s@relay.test>\r\n\r\nid: %s\r\n"
                % (what, msgid, msgid, msgid))
    ids = [unique_id("%s-%d" % (name, i)) for i in range(3)]
    plain = head(ids[0], "plain") + "Scan finished.\r\n"
    dotted = (head(ids[1], "dotted") + ".leading dot\r\n.\r\n..two dots\r\n"
              "a line\r\n.\r\nlast line\r\n")
    big = head(ids[2], "big") + "".join(
        ("." if n % 1000 == 0 else "") + "line %05d %s\r\n" % (n, "x" * 64)
        for n in range(big_lines))
    return list(zip(ids, (plain, dotted, big)))


def pop3_case(doc, client, upstream="pop3s", listeners=LISTENERS, seed=True,
              **kw):
    """Compatibility wrapper for case files written before the declarative
    Case: Case(doc, client, protocols=("pop3",), upstream=upstream, ...).
    seed=False leaves the Dovecot mailbox empty (Case's seed=False); the
    other arguments are Case's."""
    return Case(doc, client, protocols=("pop3",), upstream=upstream,
                listeners=listeners, seed=None if seed else False, **kw)


def connect(ctx, listener="pop3", tls=None):
    """poplib to a relay listener; tls None (plaintext), "stls" (STLS with a
    client pinned to TLS 1.0) or "implicit" (TLS 1.0 from the start).
    Checks the greeting and the TLS version; closed at the end of the case.
    """
    port = ctx.port(listener)
    if tls == "implicit":
        p = poplib.POP3_SSL("127.0.0.1", port, timeout=TIMEOUT,
                            context=legacy_context())
    else:
        p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    ctx._open.append(p)
    ctx.check(p.getwelcome().startswith(b"+OK"),
              "greeting %r" % p.getwelcome())
    if tls == "stls":
        ctx.check("STLS" in p.capa(), "CAPA does not offer STLS")
        p.stls(context=legacy_context())
    if tls is not None:
        ctx.check(p.sock.version() == TLS10, "LAN TLS is %s, not TLS 1.0"
                  % p.sock.version())
    return p


def login(ctx, p, password=None):
    """USER/PASS with the test user; returns the reply to PASS."""
    if password:
        ctx.secrets.add(password)
    p.user(ctx.user)
    return p.pass_(password or ctx.password)


def login_refused(ctx, code, listener="pop3s", tls="implicit"):
    """Connect and log in: PASS must get "-ERR [code] ...", and QUIT +OK
    after it."""
    p = connect(ctx, listener, tls=tls)
    expect_err(ctx, lambda: login(ctx, p), code, "PASS")
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")


def expect_err(ctx, call, code, what):
    """call() must fail with "-ERR [code] ..."; returns the reply text."""
    try:
        reply = call()
    except poplib.error_proto as e:
        text = e.args[0].decode(errors="replace") if isinstance(
            e.args[0], bytes) else str(e.args[0])
        want = "-ERR [%s]" % code if code else "-ERR"
        ctx.check(text.startswith(want), "%s: expected %s ..., got %r"
                  % (what, want, text))
        return text
    raise CaseFailure("%s: expected -ERR, got %r" % (what, reply))


def lines_of(text):
    """A message as poplib returns it: lines as bytes, no line ends."""
    return text.encode().split(b"\r\n")[:-1]


def check_message(ctx, index, got):
    """got (a list of lines, or bytes) must be seeded message index."""
    msgid, text = ctx.mailbox.messages[index]
    if isinstance(got, bytes):
        got = got.replace(b"\r\n", b"\n").split(b"\n")
        got = got[:-1] if got and got[-1] == b"" else got
    want = lines_of(text)
    if got != want:
        diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                    min(len(got), len(want)))
        raise CaseFailure("message %d (%s) differs at line %d of %d/%d: "
                          "got %r, want %r"
                          % (index + 1, msgid, diff, len(got), len(want),
                             got[diff:diff + 1], want[diff:diff + 1]))


def retrieve_all(ctx, p):
    """STAT, LIST, UIDL, TOP, then RETR every message and check each."""
    count, _ = p.stat()
    ctx.check(count == len(ctx.mailbox.messages), "STAT says %d messages, "
              "%d were seeded" % (count, len(ctx.mailbox.messages)))
    ctx.check(len(p.list()[1]) == count, "LIST does not list every message")
    ctx.check(len(p.uidl()[1]) == count, "UIDL does not list every message")
    head = p.top(1, 0)[1]
    ctx.check(head == lines_of(ctx.mailbox.messages[0][1].split(
        "\r\n\r\n")[0] + "\r\n\r\n"), "TOP 1 0 is not the header: %r" % head)
    for i in range(count):
        check_message(ctx, i, p.retr(i + 1)[1])


def delete_and_quit(ctx, p, numbers):
    """DELE each message number, QUIT, and check the mailbox shrank."""
    before = ctx.mailbox.count()
    for n in numbers:
        p.dele(n)
    reply = p.quit()
    ctx.check(reply.startswith(b"+OK"), "QUIT: %r" % reply)
    after = ctx.mailbox.count()
    ctx.check(after == before - len(numbers), "mailbox holds %d messages "
              "after deleting %d of %d" % (after, len(numbers), before))


class RawPop3(RawClient):
    """A line-level POP3 client for dialogues poplib cannot express."""

    def cmd(self, text):
        """Send one command line; return the first reply line."""
        self.send(text + "\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line answer up to the "." line."""
        lines = []
        while True:
            line = self.line()
            if line is None or line == ".":
                return lines
            lines.append(line)

    def capa(self):
        """CAPA: the capability lines (empty on -ERR)."""
        return self.multi() if self.cmd("CAPA").startswith("+OK") else []


def raw(ctx, listener="pop3", source=None, tls=False):
    """A RawPop3 to a relay listener (TLS 1.0 from the start if tls),
    after its greeting, which is returned too: (client, greeting)."""
    c = RawPop3(ctx.port(listener), source=source,
                tls=legacy_context() if tls else None)
    ctx._open.append(c)
    return c, c.line()


def refused(ctx, source=None, listener="pop3", contains=None):
    """Connect and expect an -ERR greeting, then a closed connection."""
    c, greeting = raw(ctx, listener, source=source)
    ctx.check(greeting is not None and greeting.startswith("-ERR "),
              "greeting: expected -ERR, got %r" % greeting)
    if contains:
        ctx.check(contains in greeting, "greeting %r does not say %r"
                  % (greeting, contains))
    closed, rest = c.wait_closed(10)
    ctx.check(closed, "relay did not close the refused connection")
    return greeting


def session_end(ctx, **match):
    """Wait for the end line of a POP3 session matching match."""
    fields = ctx.relay.wait_session(event="end", protocol="pop3", **match)
    ctx.check(fields is not None, "no end line %r; log:\n%s"
              % (match, ctx.relay.tail(8)))
    ctx.check_sunset(fields)
    return fields


def curl(ctx, url, *args, password=None):
    """Run curl against the relay with the test user; (exit, stdout)."""
    cmd = ["curl", "-sS", "--max-time", "30", "-u",
           "%s:%s" % (ctx.user, password or ctx.password)] + list(args) + \
        [url]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode != 0:
        ctx.note("curl %s: exit %d: %s" % (url, p.returncode,
                                           p.stderr.decode(errors="replace")))
    return p.returncode, p.stdout


# TLS 1.0 for curl on Debian's OpenSSL 3 (REFERENCE.md).
CURL_TLS10 = ["--tlsv1.0", "--tls-max", "1.0", "--ciphers",
              "DEFAULT:@SECLEVEL=0", "-k"]

# OpenSSL settings that let fetchmail (no cipher option) speak TLS 1.0.
OPENSSL_TLS10 = """\
openssl_conf = tlsrelay_test
[tlsrelay_test]
ssl_conf = tlsrelay_ssl
[tlsrelay_ssl]
system_default = tlsrelay_legacy
[tlsrelay_legacy]
MinProtocol = TLSv1
CipherString = DEFAULT:@SECLEVEL=0
"""


def fetchmail(ctx, listener, options, keep=False):
    """Run fetchmail once against a relay listener with options; messages
    go to files through an MDA. Returns (exit status, [message bytes] in
    delivery order, output)."""
    base = os.path.join(ctx.relay.dir, "fetchmail")
    out = os.path.join(base, "out")
    os.makedirs(out, exist_ok=True)
    os.chmod(base, 0o700)
    mda = write_file(os.path.join(base, "deliver"),
                     '#!/bin/sh\nn=$(ls "%s" | wc -l)\n'
                     'cat > "%s/$(printf %%04d "$n").eml"\n' % (out, out),
                     0o755)
    rc = write_file(os.path.join(base, "fetchmailrc"),
                    'poll 127.0.0.1 protocol pop3 port %d timeout 30\n'
                    '  user "%s" there with password "%s" is "root" here\n'
                    '  mda "%s"\n  %s\n'
                    % (ctx.port(listener), ctx.user, ctx.password, mda,
                       "keep" if keep else "no keep fetchall"), 0o600)
    env = dict(os.environ, HOME=base, FETCHMAILHOME=base,
               OPENSSL_CONF=write_file(os.path.join(base, "openssl.cnf"),
                                       OPENSSL_TLS10))
    p = subprocess.run(["fetchmail", "-f", rc, "-v", "--nosyslog",
                        "--idfile", os.path.join(base, "ids")] + options,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=120)
    text = p.stdout.decode(errors="replace")
    if p.returncode not in (0, 1):
        ctx.note("fetchmail exit %d:" % p.returncode)
        ctx.notes += ["  " + l for l in text.splitlines()[-25:]]
    messages = []
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), "rb") as f:
            messages.append(f.read())
    return p.returncode, messages, text


def check_fetched(ctx, messages):
    """Messages an MDA received must be the seeded ones, in order (an MDA
    gets a Received header and may get LF line ends first)."""
    ctx.check(len(messages) == len(ctx.mailbox.messages),
              "fetched %d messages, %d were seeded"
              % (len(messages), len(ctx.mailbox.messages)))
    for i, data in enumerate(messages):
        start = data.find(b"From: scanner@example.test")
        ctx.check(start >= 0, "fetched message %d has no From line" % (i + 1))
        check_message(ctx, i, data[start:])
