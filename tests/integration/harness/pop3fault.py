"""A scripted POP3 upstream for what a real Dovecot will not do.

Modes:
  userpass  implicit TLS 1.2+, CAPA offers USER but no SASL: the relay must
            log in with USER/PASS; serves one message (MESSAGE)
  cut       as userpass, but RETR sends +OK and half the message, then
            closes the connection
  inuse     as userpass, but PASS gets "-ERR [IN-USE] ..."
  nostls    plain POP3 whose CAPA offers USER and SASL PLAIN but no STLS,
            as bait: the relay must give up before sending credentials
Every mode counts connections and keeps a transcript (("C", line) for what
the relay sent, ("S", line) for the answers).
"""

import socket
import ssl
import threading

from .dovecot import PASSWORD, USER
from .util import register_cleanup, unregister_cleanup

MODES = ("userpass", "cut", "inuse", "nostls")
MESSAGE = ("From: ups@example.test\r\nTo: inbox@example.test\r\n"
           "Subject: scripted upstream\r\n\r\n"
           + "".join("line %03d of the scripted message\r\n" % n
                     for n in range(200))
           + ".a dotted line\r\n")


class Pop3FaultServer:
    """One listening socket on 127.0.0.1 serving one mode."""

    def __init__(self, pki, mode):
        if mode not in MODES:
            raise ValueError("unknown POP3 fault mode %r" % mode)
        self.pki = pki
        self.mode = mode
        self.lock = threading.Lock()
        self.accepted = 0
        self.transcripts = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self):
        """Start accepting in a background thread."""
        register_cleanup(self.stop)
        self.thread.start()
        return self

    def stop(self):
        """Stop accepting and close the listening socket."""
        unregister_cleanup(self.stop)
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        self.thread.join(5)

    def sent(self):
        """Every line the relay sent, over all connections."""
        with self.lock:
            return [t for tr in self.transcripts for d, t in tr if d == "C"]

    def _accept_loop(self):
        """Accept connections until stopped, one thread each."""
        while True:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                transcript = []
                self.transcripts.append(transcript)
            threading.Thread(target=self._serve, args=(conn, transcript),
                             daemon=True).start()

    def _serve(self, conn, transcript):
        """Run one connection's script; errors just end the connection."""
        conn.settimeout(30)
        try:
            if self.mode != "nostls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.pki.localhost)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                conn = ctx.wrap_socket(conn, server_side=True)
            _Session(self.mode, conn, transcript).run()
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


class _Session:
    """One scripted POP3 session."""

    def __init__(self, mode, sock, transcript):
        self.mode = mode
        self.sock = sock
        self.transcript = transcript
        self.file = sock.makefile("rb")

    def send(self, *lines):
        """Send answer lines."""
        for line in lines:
            self.transcript.append(("S", line))
        self.sock.sendall("".join(l + "\r\n" for l in lines).encode())

    def run(self):
        """Greet, then answer commands until QUIT or EOF."""
        self.send("+OK scripted POP3 (%s)" % self.mode)
        user = None
        while True:
            line = self.file.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            self.transcript.append(("C", text))
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "CAPA":
                caps = ["USER", "TOP", "UIDL"]
                if self.mode == "nostls":
                    caps.append("SASL PLAIN")
                self.send("+OK", *caps + ["."])
            elif verb == "USER":
                user = arg
                self.send("+OK")
            elif verb == "PASS" and self.mode == "inuse":
                self.send("-ERR [IN-USE] Mailbox locked by another session")
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

    def retr(self):
        """Send message 1, dot-stuffed; only half of it in mode cut."""
        lines = ["." + l if l.startswith(".") else l
                 for l in MESSAGE.split("\r\n")[:-1]]
        if self.mode == "cut":
            self.send("+OK %d octets" % len(MESSAGE),
                      *lines[:len(lines) // 2])
            return
        self.send("+OK %d octets" % len(MESSAGE), *lines + ["."])
