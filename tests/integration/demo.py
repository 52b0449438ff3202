#!/usr/bin/python3
"""See tlsrelayd work: TLS 1.0 devices -> tlsrelayd -> TLS 1.2+ servers.

Starts a private Dovecot and Postfix on 127.0.0.1 (Postfix submission:
STARTTLS required, TLS 1.2+, AUTH required; Dovecot: SASL for Postfix, and
POP3S and IMAPS, TLS 1.2+ only, login only over TLS, serving the maildir
Postfix delivers to) and tlsrelayd in the foreground with a demo config.
Then three legacy devices pinned to TLS 1.0, each from its own loopback
address: a scanner submits one message over SMTP (STARTTLS), a ticketing
collector retrieves it over POP3 (STLS), an archiver finds and fetches it
over IMAPS. Prints the dialogues (passwords masked), each session's log
lines and the message id at every step, and stops everything it started.
Needs root. Used by scripts/demo.

    demo.py --daemon build/tlsrelayd [--keep]
"""

import argparse
import os
import re
import signal
import smtplib
import socket
import ssl
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import clients  # noqa: E402
from harness.dovecot import PASSWORD, USER, Dovecot  # noqa: E402
from harness.imap import RawImap  # noqa: E402
from harness.pki import PKI  # noqa: E402
from harness.pop3 import RawPop3  # noqa: E402
from harness.postfix import Postfix  # noqa: E402
from harness.relay import Relay, base_settings, device  # noqa: E402
from harness.runner import Interrupted, _on_signal  # noqa: E402
from harness.util import (FixtureError, free_port, make_run_dir,  # noqa
                          remove_tree, run_cleanups)

WIDTH = 100			# dialogue lines are clipped to this width
SCANNER, COLLECTOR, ARCHIVER = "127.0.0.1", "127.0.0.2", "127.0.0.3"


class DemoError(Exception):
    """A device dialogue went wrong; the message says where."""


def heading(text):
    """Print a section heading."""
    print("\n== %s" % text)
    sys.stdout.flush()


def show(direction, text):
    """Print one line (or several) of a device's dialogue."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    for i, line in enumerate(text.splitlines() or [""]):
        if len(line) > WIDTH:
            line = line[:WIDTH - 3] + "..."
        print("   %s %s" % (direction if i == 0 else " " * len(direction),
                            line))
    sys.stdout.flush()


def message_id(msgid):
    """The Message-ID header value of the demo message carrying msgid."""
    return "<%s@relay.test>" % msgid


def header_value(lines, name):
    """The value of the first header line called name, or None."""
    for line in lines:
        if line == "":
            return None
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def refused_tls10(what, port):
    """Show that a TLS 1.2+ server refuses a TLS 1.0 handshake."""
    s = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = clients.legacy_context().wrap_socket(s)
        print("   unexpected: %s accepted TLS 1.0" % what)
        return False
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        print("   TLS 1.0 straight to %s: refused (closed during the "
              "handshake)" % what)
        return True
    except (ssl.SSLError, OSError) as e:
        print("   TLS 1.0 straight to %s: refused (%s)"
              % (what, getattr(e, "reason", None) or e))
        return True
    finally:
        if s is not None:
            s.close()


def legacy_check(postfix):
    """Show that Postfix itself refuses the TLS 1.0 client."""
    s, _ = clients.smtp_connect(postfix.port)
    s.ehlo("scanner.lan")
    try:
        s.starttls(context=clients.legacy_context())
        print("   unexpected: Postfix accepted TLS 1.0")
    except (ssl.SSLError, OSError) as e:
        print("   TLS 1.0 straight to Postfix: refused (%s)"
              % (getattr(e, "reason", None) or e))
    finally:
        clients.close_quietly(s)


# --- SMTP: the scanner ------------------------------------------------------

def step(s, command, shown=None):
    """Send one SMTP command, print it and the reply; return the reply."""
    show("device:", shown or command)
    code, text = s.docmd(command)
    show("relay: ", "%d %s" % (code, text.decode(errors="replace")))
    return code, text


def smtp_session(port, msgid):
    """The scanner: STARTTLS pinned to TLS 1.0, AUTH LOGIN, one mail."""
    s = smtplib.SMTP(timeout=30, source_address=(SCANNER, 0))
    code, text = s.connect("127.0.0.1", port)
    show("relay: ", "%d %s" % (code, text.decode(errors="replace")))
    step(s, "EHLO scanner.lan")
    s.ehlo_resp = None
    code, _ = step(s, "STARTTLS")
    if code != 220:
        return False
    s.sock = clients.legacy_context().wrap_socket(s.sock)
    s.file = None
    print("   -- LAN TLS up: %s %s" % (s.sock.version(), s.sock.cipher()[0]))
    step(s, "EHLO scanner.lan")
    user, password = USER, PASSWORD
    code, _ = step(s, "AUTH LOGIN")
    if code == 334:
        step(s, clients.b64(user), "%s  (user, base64)" % clients.b64(user))
        code, _ = step(s, clients.b64(password), "******  (password)")
    if code != 235:
        return False
    step(s, "MAIL FROM:<%s>" % user)
    step(s, "RCPT TO:<inbox@example.test>")
    code, _ = step(s, "DATA")
    if code != 354:
        return False
    body = clients.make_message(msgid, sender=user,
                                subject="scan from scanner-1")
    show("device:", "(message, Message-ID: %s)" % message_id(msgid))
    s.send(smtplib.quotedata(body).encode() + b"\r\n.\r\n")
    code, text = s.getreply()
    show("relay: ", "%d %s" % (code, text.decode(errors="replace")))
    step(s, "QUIT")
    s.close()
    return code == 250


# --- POP3: the ticketing collector ------------------------------------------

def pop3_cmd(c, command, shown=None):
    """Send one POP3 command, print it and the status line; return it."""
    show("device:", shown or command)
    reply = c.cmd(command)
    if reply is None:
        raise DemoError("POP3: the relay closed the connection after %s"
                        % (shown or command).split()[0])
    show("relay: ", reply)
    return reply


def pop3_ok(c, command, shown=None):
    """pop3_cmd that insists on +OK."""
    reply = pop3_cmd(c, command, shown)
    if not reply.startswith("+OK"):
        raise DemoError("POP3 %s: %s" % ((shown or command).split()[0],
                                         reply))
    return reply


def pop3_session(port, msgid):
    """The collector: STLS pinned to TLS 1.0, USER/PASS, find the message
    by UIDL/TOP, RETR it, QUIT (it stays on the server for the archiver).
    Returns the Message-ID of the retrieved message."""
    c = RawPop3(port, source=COLLECTOR)
    try:
        greeting = c.line()
        show("relay: ", greeting or "(closed)")
        if not greeting or not greeting.startswith("+OK"):
            raise DemoError("POP3 greeting: %r" % greeting)
        show("device:", "CAPA")
        caps = c.capa()
        show("relay: ", "+OK  " + " | ".join(caps))
        pop3_ok(c, "STLS")
        c.sock = clients.legacy_context().wrap_socket(c.sock)
        print("   -- LAN TLS up: %s %s" % (c.sock.version(),
                                           c.sock.cipher()[0]))
        pop3_ok(c, "USER %s" % USER)
        pop3_ok(c, "PASS %s" % PASSWORD, "PASS ******")
        reply = pop3_ok(c, "STAT")
        count = int(reply.split()[1])
        if count < 1:
            raise DemoError("POP3: the mailbox is empty")
        wanted = message_id(msgid)
        number = None
        for n in range(1, count + 1):
            pop3_ok(c, "TOP %d 0" % n)
            head = [l[1:] if l.startswith("..") else l for l in c.multi()]
            found = header_value(head, "Message-ID")
            show("       ", "(%d header lines)  Message-ID: %s"
                 % (len(head) - 1, found))
            if found == wanted:
                number = n
                break
        if number is None:
            raise DemoError("POP3: no message with Message-ID %s" % wanted)
        pop3_ok(c, "RETR %d" % number)
        lines = [l[1:] if l.startswith("..") else l for l in c.multi()]
        body = lines[lines.index("") + 1:] if "" in lines else []
        show("       ", "(%d lines)  Message-ID: %s" % (
            len(lines), header_value(lines, "Message-ID")))
        show("       ", "Subject: %s" % header_value(lines, "Subject"))
        for line in body:
            show("       ", "| " + line)
        pop3_ok(c, "QUIT")
        print("   -- no DELE: the message stays on the server for the "
              "archiver")
        return header_value(lines, "Message-ID")
    finally:
        c.close()


# --- IMAP: the archiver -----------------------------------------------------

def imap_cmd(c, tag, command, shown=None, keep=None):
    """Send one tagged IMAP command, print it and the response (untagged
    lines only if keep(line) says so); return all response lines."""
    show("device:", "%s %s" % (tag, shown or command))
    lines = c.command(tag, command)
    if not lines or not lines[-1].startswith(tag + " "):
        raise DemoError("IMAP: no tagged response to %s: %r"
                        % ((shown or command).split()[0], lines[-3:]))
    untagged = lines[:-1]
    shown_lines = [l for l in untagged if keep is None or keep(l)]
    for line in shown_lines:
        # lines that do not start with "*" are the contents of a literal
        show("relay: " if line.startswith("* ") else "       ", line)
    if len(shown_lines) < len(untagged):
        show("       ", "(%d more untagged lines)"
             % (len(untagged) - len(shown_lines)))
    show("relay: ", lines[-1])
    if lines[-1].split(" ", 2)[1:2] != ["OK"]:
        raise DemoError("IMAP %s: %s" % ((shown or command).split()[0],
                                         lines[-1]))
    return lines


def imap_session(port, msgid):
    """The archiver: IMAPS pinned to TLS 1.0, LOGIN, SELECT INBOX, SEARCH
    by Message-ID, FETCH, LOGOUT. Returns the fetched Message-ID."""
    c = RawImap(port, source=ARCHIVER,
                tls=clients.legacy_context())
    try:
        print("   -- LAN TLS up: %s %s" % (c.sock.version(),
                                           c.sock.cipher()[0]))
        greeting = c.line()
        show("relay: ", greeting or "(closed)")
        if not greeting or not greeting.startswith("* OK"):
            raise DemoError("IMAP greeting: %r" % greeting)
        imap_cmd(c, "a1", 'LOGIN "%s" "%s"' % (USER, PASSWORD),
                 'LOGIN "%s" ******' % USER)
        imap_cmd(c, "a2", "SELECT INBOX", keep=lambda l: "EXISTS" in l)
        wanted = message_id(msgid)
        lines = imap_cmd(c, "a3", 'SEARCH HEADER Message-ID "%s"' % wanted)
        hits = [w for l in lines if l.startswith("* SEARCH")
                for w in l.split()[2:]]
        if not hits:
            raise DemoError("IMAP: SEARCH found no message %s" % wanted)
        lines = imap_cmd(c, "a4", "FETCH %s (UID RFC822.SIZE BODY.PEEK"
                         "[HEADER.FIELDS (MESSAGE-ID SUBJECT)])" % hits[0])
        found = None
        for line in lines:
            m = re.match(r"(?i)message-id:\s*(\S+)", line)
            if m:
                found = m.group(1)
        imap_cmd(c, "a5", "LOGOUT")
        closed, _ = c.wait_closed(10)
        if not closed:
            raise DemoError("IMAP: the relay did not close after LOGOUT")
        return found
    finally:
        c.close()


# --- putting it together ----------------------------------------------------

def session_lines(relay, protocol):
    """Wait for the end line of the protocol's session and print its
    start and end lines; returns the end line's fields or None."""
    end = relay.wait_session(10, event="end", protocol=protocol)
    if end is None:
        print("   no end line for a %s session" % protocol)
        return None
    tag = "session=%s " % end["session"]
    for line in relay.lines():
        if tag in line:
            print("   " + line)
    return end


def device_step(what, fn, *args):
    """Run one device's dialogue; a failure is printed, not raised."""
    try:
        return fn(*args)
    except (DemoError, OSError) as e:
        print("   %s failed: %s" % (what, e))
        return None


def run_demo(binary, keep):
    """Set up, run the sessions, show the evidence; returns an exit status."""
    base = make_run_dir("trdemo.")
    relay = None
    try:
        heading("Test upstream: private Postfix + Dovecot, TLS 1.2+ only")
        pki = PKI(os.path.join(base, "pki"))
        dovecot = Dovecot(os.path.join(base, "dovecot"), pki,
                          pop3s_port=free_port(), imaps_port=free_port())
        postfix = Postfix(os.path.join(base, "postfix"), pki, dovecot,
                          free_port())
        # Dovecot serves the maildir Postfix's virtual(8) delivers to.
        dovecot.mail_location = "maildir:" + postfix.maildir
        dovecot.start()
        postfix.start()
        print("   Postfix submission on 127.0.0.1:%d: STARTTLS required, "
              "TLS 1.2+ only, AUTH required" % postfix.port)
        print("   Dovecot POP3S on 127.0.0.1:%d, IMAPS on 127.0.0.1:%d: "
              "TLS 1.2+ only, login only over TLS"
              % (dovecot.pop3s_port, dovecot.imaps_port))
        print("   both use one maildir: Postfix delivers to it, Dovecot "
              "serves it\n     %s" % postfix.maildir)
        legacy_check(postfix)
        refused_tls10("Dovecot POP3S", dovecot.pop3s_port)
        refused_tls10("Dovecot IMAPS", dovecot.imaps_port)

        heading("tlsrelayd (foreground, -f)")
        ports = {"smtp": free_port(), "pop3": free_port(),
                 "imaps": free_port()}
        upstream = {"host": "localhost", "ca_file": pki.ca}
        settings = base_settings(pki, [
            {"name": "smtp", "protocol": "smtp", "address": "127.0.0.1",
             "port": ports["smtp"], "tls": "plain"},
            {"name": "pop3", "protocol": "pop3", "address": "127.0.0.1",
             "port": ports["pop3"], "tls": "plain"},
            {"name": "imaps", "protocol": "imap", "address": "127.0.0.1",
             "port": ports["imaps"], "tls": "implicit"}], {
            "smtp": dict(upstream, port=postfix.port, tls="starttls"),
            "pop3": dict(upstream, port=dovecot.pop3s_port, tls="implicit"),
            "imap": dict(upstream, port=dovecot.imaps_port, tls="implicit")})
        devices = [
            device("scanner-1", SCANNER, notes="demo scanner"),
            device("helpdesk-1", COLLECTOR, protocols=["pop3"],
                   notes="demo ticketing collector"),
            device("archiver-1", ARCHIVER, protocols=["imap"],
                   notes="demo mail archiver")]
        relay = Relay(binary, os.path.join(base, "relay"), settings, devices)
        relay.start()
        print("   %s -f -c %s" % (binary, relay.conf))
        print("   listeners on 127.0.0.1: smtp %d (STARTTLS), pop3 %d (STLS),"
              " imaps %d (implicit TLS)"
              % (ports["smtp"], ports["pop3"], ports["imaps"]))
        print("   upstreams: smtp localhost:%d (STARTTLS), pop3 "
              "localhost:%d and imap localhost:%d (implicit TLS)"
              % (postfix.port, dovecot.pop3s_port, dovecot.imaps_port))
        for d in devices:
            print("   device %-10s = %s, %s, sunset %s"
                  % (d["name"], d["addresses"][0], "/".join(d["protocols"]),
                     d["sunset"]))

        msgid = clients.unique_id("demo")
        wanted = message_id(msgid)

        heading("1. Scanner %s sends over SMTP, STARTTLS pinned to TLS 1.0"
                % SCANNER)
        sent = device_step("SMTP session", smtp_session, ports["smtp"],
                           msgid)
        print()
        smtp_end = session_lines(relay, "smtp")
        path = postfix.wait_message(msgid, 20) if sent else None
        print("\n   delivered by Postfix (virtual) to %s"
              % (path or "(nowhere: not delivered)"))
        delivered = None
        if path:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
            delivered = header_value(lines, "Message-ID")
            for line in lines:
                print("   | " + line)

        popped = imapped = None
        pop3_end = imap_end = None
        if path:
            heading("2. Ticketing collector %s fetches it over POP3, STLS "
                    "pinned to TLS 1.0" % COLLECTOR)
            popped = device_step("POP3 session", pop3_session,
                                 ports["pop3"], msgid)
            print()
            pop3_end = session_lines(relay, "pop3")

            heading("3. Archiver %s finds it over IMAPS pinned to TLS 1.0"
                    % ARCHIVER)
            imapped = device_step("IMAP session", imap_session,
                                  ports["imaps"], msgid)
            print()
            imap_end = session_lines(relay, "imap")

        heading("Message-ID at every step")
        rows = [("submitted over SMTP", wanted if sent else None),
                ("delivered to the maildir", delivered),
                ("retrieved over POP3 (RETR)", popped),
                ("found over IMAP (SEARCH, FETCH)", imapped)]
        for what, value in rows:
            print("   %-32s %-50s %s" % (what, value or "-",
                                         "ok" if value == wanted else
                                         "MISMATCH"))
        ends = [smtp_end, pop3_end, imap_end]
        logged = all(e is not None and e.get("result") == "ok" and
                     e.get("lan_tls") == "TLSv1" and
                     e.get("upstream_tls") in ("TLSv1.2", "TLSv1.3")
                     for e in ends)
        print("   tlsrelayd: %s" % ("smtp, pop3 and imap sessions ended ok, "
                                    "lan_tls=TLSv1, upstream TLS 1.2+"
                                    if logged else
                                    "a session line is missing or not ok"))
        ok = logged and all(value == wanted for _, value in rows)
        return 0 if ok else 1
    except FixtureError as e:
        print("demo: %s" % e)
        if relay is not None:
            print(relay.tail())
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        heading("Stopping everything the demo started")
        run_cleanups()
        if keep:
            print("   kept %s" % base)
        else:
            remove_tree(base)
        print("   done")


def main():
    """Parse options and run the demo."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--daemon", required=True, help="path to tlsrelayd")
    ap.add_argument("--keep", action="store_true", help="keep the run dir")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo: needs root (it runs private Postfix and Dovecot)")
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        return run_demo(os.path.abspath(args.daemon), args.keep)
    except Interrupted:
        return 130


if __name__ == "__main__":
    sys.exit(main())
