#!/usr/bin/python3
"""See tlsrelayd work: a TLS 1.0 device -> tlsrelayd -> Postfix (TLS 1.2+).

Starts a private Dovecot (SASL) and Postfix (submission: STARTTLS required,
TLS 1.2+, AUTH required) on 127.0.0.1, starts tlsrelayd in the foreground
with a demo config, submits one message with a client pinned to TLS 1.0,
prints the relay's session log lines and the delivered message, and stops
everything it started. Needs root. Used by scripts/demo.

    demo.py --daemon build/tlsrelayd [--keep]
"""

import argparse
import os
import signal
import smtplib
import ssl
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import clients  # noqa: E402
from harness.dovecot import PASSWORD, USER, Dovecot  # noqa: E402
from harness.pki import PKI  # noqa: E402
from harness.postfix import Postfix  # noqa: E402
from harness.relay import Relay, device  # noqa: E402
from harness.runner import Interrupted, _on_signal  # noqa: E402
from harness.util import (FixtureError, free_port, make_run_dir,  # noqa
                          remove_tree, run_cleanups)


def heading(text):
    """Print a section heading."""
    print("\n== %s" % text)
    sys.stdout.flush()


def show(direction, text):
    """Print one line of the device's SMTP dialogue."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    for i, line in enumerate(text.splitlines() or [""]):
        print("   %s %s" % (direction if i == 0 else " ", line))


def step(s, command, shown=None):
    """Send one command, print it and the reply; return the reply."""
    show("device:", shown or command)
    code, text = s.docmd(command)
    show("relay: ", "%d %s" % (code, text.decode(errors="replace")))
    return code, text


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


def device_session(port, msgid):
    """The legacy device: STARTTLS pinned to TLS 1.0, AUTH LOGIN, one mail."""
    s = smtplib.SMTP(timeout=30)
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
    body = clients.make_message(msgid, sender=user)
    show("device:", "(message, id %s)" % msgid)
    s.send(smtplib.quotedata(body).encode() + b"\r\n.\r\n")
    code, text = s.getreply()
    show("relay: ", "%d %s" % (code, text.decode(errors="replace")))
    step(s, "QUIT")
    s.close()
    return code == 250


def run_demo(binary, keep):
    """Set up, run the session, show the evidence; returns an exit status."""
    base = make_run_dir("trdemo.")
    relay = None
    try:
        heading("Test upstream: private Dovecot (SASL) + Postfix")
        pki = PKI(os.path.join(base, "pki"))
        dovecot = Dovecot(os.path.join(base, "dovecot"), pki).start()
        postfix = Postfix(os.path.join(base, "postfix"), pki, dovecot,
                          free_port()).start()
        print("   Postfix submission on 127.0.0.1:%d: STARTTLS required, "
              "TLS 1.2+ only, AUTH required" % postfix.port)
        legacy_check(postfix)

        heading("tlsrelayd (foreground, -f)")
        port = free_port()
        cert, key = pki.lan
        settings = {
            "server_name": "relay.test",
            "warn_days": 30,
            "limits": {"prelogin_timeout": 30, "idle_timeout": 60,
                       "upstream_timeout": 10},
            "lan_tls": {"certificate": cert, "key": key,
                        "min_version": "TLSv1"},
            "listeners": [{"name": "smtp", "protocol": "smtp",
                           "address": "127.0.0.1", "port": port,
                           "tls": "plain"}],
            "upstreams": {"smtp": {"host": "localhost",
                                   "port": postfix.port, "tls": "starttls",
                                   "ca_file": pki.ca}},
        }
        dev = device("scanner-1", "127.0.0.1", notes="demo scanner")
        relay = Relay(binary, os.path.join(base, "relay"), settings, [dev])
        relay.start()
        print("   %s -f -c %s" % (binary, relay.conf))
        print("   listening on 127.0.0.1:%d; device scanner-1 = 127.0.0.1, "
              "sunset %s" % (port, dev["sunset"]))

        heading("Device session: legacy client pinned to TLS 1.0")
        msgid = clients.unique_id("demo")
        ok = device_session(port, msgid)

        heading("Delivered message (Postfix virtual maildir)")
        path = postfix.wait_message(msgid, 20) if ok else None
        if path:
            print("   %s" % path)
            with open(path, errors="replace") as f:
                for line in f.read().splitlines():
                    print("   | " + line)
        else:
            print("   not delivered")

        heading("tlsrelayd session log")
        relay.wait_session(10, event="end")
        for line in relay.lines():
            if "session=" in line:
                print("   " + line)
        return 0 if path else 1
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
