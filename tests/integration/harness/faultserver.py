"""A scripted SMTP upstream that misbehaves on purpose, one mode per case.

Modes:
  tls11       STARTTLS offered, but the TLS side only speaks TLS 1.0/1.1
  wrongname   STARTTLS with a CA-signed certificate for wrong.example
  selfsigned  STARTTLS with a self-signed certificate for localhost
  nostarttls  EHLO without STARTTLS (AUTH offered in the clear, as bait)
  reset_data  good TLS 1.2+ and AUTH, then a TCP reset in the middle of DATA
  silent_dot  like good, but takes the whole message and never answers the
              final dot (reads until the client goes)
  close_dot   like good, but closes the connection after the final dot
              without answering it
  good        good TLS 1.2+, AUTH, and a 250 for the message
  counting    greets with 554 and closes: for cases that expect no contact
  silent      accepts but never sends a byte (reads until the client goes)
  garbage     "greets" with an HTTP status line instead of an SMTP reply
  inject_starttls  like good, but sends a forged reply in the same write as
              its 220 to STARTTLS: the relay must discard it, not act on it
  exchange    like good, but refuses as Exchange Online does when the AUTH
              user or a MAIL/RCPT address has a local part that is a key of
              EXCHANGE_REPLIES (e.g. auth-disabled@x, sendas@x)
Every mode counts accepted connections and keeps a transcript of what the
client sent, so cases can assert "no upstream contact" or what went up.
"""

import base64
import socket
import ssl
import struct

from .scripted import ScriptedServer

MODES = ("tls11", "wrongname", "selfsigned", "nostarttls", "reset_data",
         "silent_dot", "close_dot", "good", "counting", "silent", "garbage", "inject_starttls",
         "exchange")

# Refusals as Exchange Online words them, keyed by the local part that
# triggers them in the "exchange" mode.
EXCHANGE_REPLIES = {
    "auth-disabled": "535 5.7.139 Authentication unsuccessful, "
                     "SmtpClientAuthentication is disabled for the Tenant. "
                     "Visit https://aka.ms/smtp_auth_disabled for more "
                     "information. [AM0PR01CA0001.eurprd01.prod.outlook.com]",
    "basic-auth": "550 5.7.30 Basic authentication is not supported for "
                  "Client Submission.",
    "sendas": "550 5.7.60 SMTP; Client does not have permissions to send as "
              "this sender",
    "relay-denied": "550 5.7.64 TenantAttribution; Relay Access Denied "
                    "[DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]",
    "unknown": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Empf\u00e4nger "
               "not found by SMTP address lookup",
}

INJECTED_REPLY = "250-INJECTED\r\n535 5.7.8 injected before TLS"

GARBAGE_GREETING = "HTTP/1.1 400 Bad Request"


class FaultServer(ScriptedServer):
    """One listening socket on 127.0.0.1 serving one mode."""

    MODES = MODES

    def _tls_context(self):
        """The server-side TLS context this mode uses after STARTTLS."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = {
            "wrongname": self.pki.wrongname,
            "selfsigned": self.pki.selfsigned,
        }.get(self.mode, self.pki.localhost)
        ctx.load_cert_chain(cert, key)
        if self.mode == "tls11":
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def _serve(self, conn, transcript, number):
        """Run one connection's script; errors just end the connection."""
        conn.settimeout(30)
        session = _Session(self, conn, transcript)
        try:
            session.run()
        except (OSError, ssl.SSLError, ValueError) as e:
            self.event("closed: %r" % e)
        finally:
            session.close()


class _Session:
    """One upstream SMTP session of the fault server."""

    def __init__(self, server, conn, transcript):
        self.server = server
        self.mode = server.mode
        self.sock = conn
        self.raw = conn
        self.transcript = transcript
        self.buf = b""
        self.tls = False

    def send(self, text):
        """Send one or more reply lines."""
        self.transcript.append(("S", text))
        self.sock.sendall(text.encode() + b"\r\n")

    def readline(self):
        """Read one line (without CRLF), or None at EOF."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        self.transcript.append(("C", text))
        return text

    def close(self):
        """Close whatever socket we hold."""
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Send a TCP RST: SO_LINGER with a zero timeout, then close."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.server.event("reset")
        # Close the descriptor directly: an SSLSocket's close() would not
        # send close_notify anyway, and the RST is what we want.
        socket.socket.close(self.sock)

    def ehlo_reply(self):
        """The EHLO capability list for this mode and TLS state."""
        caps = ["250-upstream.fault", "250-PIPELINING", "250-8BITMIME"]
        if not self.tls and self.mode != "nostarttls":
            caps.append("250-STARTTLS")
        if self.tls or self.mode == "nostarttls":
            caps.append("250-AUTH PLAIN LOGIN")
        caps.append("250 ENHANCEDSTATUSCODES")
        return "\r\n".join(caps)

    def starttls(self):
        """Answer STARTTLS and run the server handshake (may fail)."""
        if self.mode == "inject_starttls":
            self.send("220 2.0.0 Ready to start TLS\r\n" + INJECTED_REPLY)
        else:
            self.send("220 2.0.0 Ready to start TLS")
        if self.buf:
            self.server.event("injection: bytes after STARTTLS")
            self.buf = b""
        try:
            self.sock = self.server._tls_context().wrap_socket(
                self.raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.server.event("tls_failed: %s" % e)
            raise
        self.tls = True
        self.server.event("tls_ok: %s" % self.sock.version())

    def auth(self, arg):
        """Accept AUTH PLAIN or LOGIN, recording the user name."""
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            blob = parts[1] if len(parts) > 1 else None
            if blob is None:
                self.send("334 ")
                blob = self.readline()
            fields = base64.b64decode(blob).split(b"\0")
            user = fields[1].decode(errors="replace")
        elif mech == "LOGIN":
            if len(parts) > 1:
                user = base64.b64decode(parts[1]).decode(errors="replace")
            else:
                self.send("334 VXNlcm5hbWU6")
                user = base64.b64decode(self.readline()).decode(
                    errors="replace")
            self.send("334 UGFzc3dvcmQ6")
            self.readline()
        else:
            self.send("504 5.5.4 Unrecognized authentication type")
            return
        self.server.event("auth: %s %s" % (mech, user))
        self.send(self.exchange_reply(user) or
                  "235 2.7.0 Authentication successful")

    def exchange_reply(self, address):
        """In the exchange mode, the refusal an address triggers, or None."""
        if self.mode != "exchange":
            return None
        local = address.strip("<> ").split(":")[-1].strip("<> ")
        return EXCHANGE_REPLIES.get(local.split("@")[0].lower())

    def data(self):
        """Take DATA; reset mid-body in reset_data mode, else accept."""
        self.send("354 End data with <CR><LF>.<CR><LF>")
        got = 0
        while True:
            line = self.readline()
            if line is None:
                return
            got += len(line) + 2
            if self.mode == "reset_data" and got >= 20:
                self.reset()
                raise OSError("reset sent")
            if line == ".":
                break
        self.server.event("message: %d bytes" % got)
        if self.mode == "close_dot":
            raise OSError("closed after the dot")
        while self.mode == "silent_dot":
            if self.readline() is None:
                self.server.event("client left")
                return
        self.send("250 2.0.0 Ok: queued as FAULT1")

    def run(self):
        """The SMTP dialogue."""
        if self.mode == "counting":
            self.send("554 5.3.2 counting server: no upstream contact "
                      "expected")
            return
        if self.mode == "silent":
            while self.readline() is not None:
                pass
            self.server.event("client left")
            return
        if self.mode == "garbage":
            self.send(GARBAGE_GREETING)
            while self.readline() is not None:
                pass
            return
        self.send("220 upstream.fault ESMTP fault server (%s)" % self.mode)
        while True:
            line = self.readline()
            if line is None:
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                self.send(self.ehlo_reply())
            elif verb == "STARTTLS" and not self.tls \
                    and self.mode != "nostarttls":
                self.starttls()
            elif verb == "AUTH":
                self.auth(arg)
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.send(self.exchange_reply(arg) or "250 2.0.0 Ok")
            elif verb == "DATA":
                self.data()
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")
