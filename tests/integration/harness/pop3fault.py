"""A scripted POP3 upstream for what a real Dovecot will not do.

Modes:
  userpass  implicit TLS 1.2+, CAPA offers USER but no SASL: the relay must
            log in with USER/PASS; serves one message (MESSAGE)
  cut       as userpass, but RETR sends +OK and half the message, then
            closes the connection
  inuse     as userpass, but PASS gets "-ERR [IN-USE] ..."
  nostls    plain POP3 whose CAPA offers USER and SASL PLAIN but no STLS,
            as bait: the relay must give up before sending credentials
  exchange  as userpass, but PASS gets Exchange Online's refusal "-ERR
            Authentication failure: unknown user name or bad password."
  exchange-xoauth2
            Exchange Online refusing the app's token: CAPA offers "SASL
            PLAIN XOAUTH2" (and USER); "AUTH XOAUTH2" gets "+ ", then the
            base64 string (two-step, as Exchange does POP3 XOAUTH2; an
            initial response is refused as a protocol error), recorded
            as the event "auth: XOAUTH2 user token". Odd connections then
            get EXCHANGE_REFUSAL at once, as Exchange answers; even ones
            first an error challenge ("+ " and base64 ERROR_CHALLENGE,
            which a server may send), and after the relay's answer line
            the refusal. PASS and AUTH PLAIN get the refusal too.
Every mode counts connections and keeps a transcript (("C", line) for what
the relay sent, ("S", line) for the answers) and a list of events.
"""

import base64
import json
import ssl

from .clients import xoauth2_decode
from .dovecot import PASSWORD, USER
from .scripted import ScriptedServer

MODES = ("userpass", "cut", "inuse", "nostls", "exchange",
         "exchange-xoauth2")
EXCHANGE_REFUSAL = ("-ERR Authentication failure: unknown user name or bad "
                    "password.")
# The error challenge of exchange-xoauth2's even connections (decoded).
ERROR_CHALLENGE = json.dumps({"status": "401", "schemes": "bearer",
                              "scope": "https://outlook.office365.com/"
                              ".default"}, separators=(",", ":"))
MESSAGE = ("From: ups@example.test\r\nTo: inbox@example.test\r\n"
           "Subject: scripted upstream\r\n\r\n"
           + "".join("line %03d of the scripted message\r\n" % n
                     for n in range(200))
           + ".a dotted line\r\n")


class Pop3FaultServer(ScriptedServer):
    """One listening socket on 127.0.0.1 serving one mode."""

    MODES = MODES

    def _serve(self, conn, transcript, number):
        """Run one connection's script; errors just end the connection."""
        conn.settimeout(30)
        try:
            if self.mode != "nostls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.pki.localhost)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                conn = ctx.wrap_socket(conn, server_side=True)
            _Session(self, conn, transcript, number).run()
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


class _Session:
    """One scripted POP3 session."""

    def __init__(self, server, sock, transcript, number):
        self.server = server
        self.mode = server.mode
        self.sock = sock
        self.transcript = transcript
        self.number = number		# 1 for the server's first connection
        self.file = sock.makefile("rb")

    def line(self):
        """The next line from the relay (str, recorded), or None at EOF."""
        line = self.file.readline()
        if not line:
            return None
        text = line.decode(errors="replace").rstrip("\r\n")
        self.transcript.append(("C", text))
        return text

    def send(self, *lines):
        """Send answer lines."""
        for line in lines:
            self.transcript.append(("S", line))
        self.sock.sendall("".join(l + "\r\n" for l in lines).encode())

    def run(self):
        """Greet, then answer commands until QUIT or EOF."""
        self.send("+OK scripted POP3 (%s)" % self.mode)
        user = None
        exchange = self.mode in ("exchange", "exchange-xoauth2")
        while True:
            text = self.line()
            if text is None:
                return
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "CAPA":
                caps = ["USER", "TOP", "UIDL"]
                if self.mode == "nostls":
                    caps.append("SASL PLAIN")
                if self.mode == "exchange-xoauth2":
                    caps.append("SASL PLAIN XOAUTH2")
                self.send("+OK", *caps + ["."])
            elif verb == "AUTH" and self.mode == "exchange-xoauth2":
                if not self.xoauth2(arg):
                    return
            elif verb == "USER":
                user = arg
                self.send("+OK")
            elif verb == "PASS" and self.mode == "inuse":
                self.send("-ERR [IN-USE] Mailbox locked by another session")
            elif verb == "PASS" and exchange:
                self.send(EXCHANGE_REFUSAL)
            elif verb == "PASS":
                ok = (user, arg) == (USER, PASSWORD)
                self.send("+OK Logged in" if ok else "-ERR [AUTH] Bad login")
            elif verb == "STAT":
                self.send("+OK 1 %d" % len(MESSAGE))
            elif verb == "RETR" and arg == "1":
                self.retr()
                if self.mode == "cut":
                    return
            elif verb == "QUIT":
                self.send("+OK Bye")
                return
            else:
                self.send("-ERR Unknown command")

    def xoauth2(self, arg):
        """AUTH in mode exchange-xoauth2 (see the module's doc); False
        at EOF."""
        if arg.upper() != "XOAUTH2":
            self.send(EXCHANGE_REFUSAL if arg.upper().startswith("PLAIN")
                      else "-ERR Protocol error")
            return True
        self.send("+ ")
        blob = self.line()
        if blob is None:
            return False
        try:
            user, token = xoauth2_decode(blob)
        except ValueError:
            user = token = "(undecodable)"
        self.server.event("auth: XOAUTH2 %s %s" % (user, token))
        if self.number % 2 == 0:
            self.send("+ " + base64.b64encode(
                ERROR_CHALLENGE.encode()).decode())
            if self.line() is None:
                return False
        self.send(EXCHANGE_REFUSAL)
        return True

    def retr(self):
        """Send message 1, dot-stuffed; only half of it in mode cut."""
        lines = ["." + l if l.startswith(".") else l
                 for l in MESSAGE.split("\r\n")[:-1]]
        if self.mode == "cut":
            self.send("+OK %d octets" % len(MESSAGE),
                      *lines[:len(lines) // 2])
            return
        self.send("+OK %d octets" % len(MESSAGE), *lines + ["."])
