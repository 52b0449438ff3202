"""Client-side helpers: TLS contexts, messages with unique ids, SMTP steps."""

import base64
import os
import smtplib
import socket
import ssl
import struct
import uuid
import warnings

TIMEOUT = 20

# ssl.TLSVersion.TLSv1/TLSv1_1 are deprecated; the legacy client is the point.
warnings.filterwarnings("ignore", category=DeprecationWarning,
                        message=".*TLSv1.*")


def legacy_context(version=ssl.TLSVersion.TLSv1):
    """A client context pinned to one old TLS version, verifying nothing."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = version
    ctx.maximum_version = version
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def modern_context(ca_file, hostname_check=True):
    """A verifying TLS 1.2+ client context trusting ca_file."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = hostname_check
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def unique_id(prefix="tr"):
    """A fresh id to put in a message body and search for in the maildir."""
    return "%s-%s" % (prefix, uuid.uuid4().hex)


def make_message(msgid, sender="scanner@example.test",
                 rcpt="inbox@example.test", subject="tlsrelay test"):
    """A small RFC 5322 message whose body carries msgid."""
    return ("From: %s\r\nTo: %s\r\nSubject: %s %s\r\n"
            "Message-ID: <%s@relay.test>\r\n\r\n"
            "Scan finished.\r\nid: %s\r\n.leading dot line\r\n"
            % (sender, rcpt, subject, msgid, msgid, msgid))


def smtp_connect(port, host="127.0.0.1", source=None, implicit_ctx=None,
                 timeout=TIMEOUT):
    """Connect to an SMTP server (optionally implicit TLS, from source addr).

    Returns (smtp, (code, greeting)). A refusing greeting does not raise.
    """
    source_address = (source, 0) if source else None
    if implicit_ctx is not None:
        s = smtplib.SMTP_SSL(timeout=timeout, context=implicit_ctx,
                             source_address=source_address)
    else:
        s = smtplib.SMTP(timeout=timeout, source_address=source_address)
    s._host = host
    try:
        code, msg = s.connect(host, port)
    except smtplib.SMTPConnectError as e:
        code, msg = e.smtp_code, e.smtp_error
    return s, (code, msg)


def auth_plain(s, user, password):
    """AUTH PLAIN with an initial response; returns (code, text)."""
    blob = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
    return s.docmd("AUTH", "PLAIN " + blob)


def auth_login(s, user, password, inline_user=False):
    """AUTH LOGIN, classic (334 prompts) or with the user name inline."""
    b64 = lambda t: base64.b64encode(t.encode()).decode()
    if inline_user:
        code, text = s.docmd("AUTH", "LOGIN " + b64(user))
    else:
        code, text = s.docmd("AUTH", "LOGIN")
        if code != 334:
            return code, text
        code, text = s.docmd(b64(user))
    if code != 334:
        return code, text
    return s.docmd(b64(password))


def send_message(s, msgid, sender="scanner@example.test",
                 rcpt="inbox@example.test"):
    """MAIL, RCPT, DATA with a message carrying msgid; returns the DATA reply.

    Raises smtplib exceptions on refusals, like smtplib.sendmail does.
    """
    s.sendmail(sender, [rcpt], make_message(msgid, sender, rcpt))


def close_quietly(s):
    """QUIT if possible, then close; never raises."""
    try:
        s.quit()
    except Exception:
        pass
    try:
        s.close()
    except Exception:
        pass


class RawClient:
    """A byte-level client for dialogues smtplib, poplib and imaplib cannot
    express: SMTP replies here, POP3 and IMAP lines in the subclasses
    (pop3.RawPop3, imap.RawImap). tls: a client context to wrap the
    connection in at once (implicit TLS); rcvbuf: a receive buffer size
    set before connecting (a device that reads slowly)."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=TIMEOUT,
                 tls=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""
        if tls is not None:
            self.starttls(tls)

    def starttls(self, tls):
        """Switch this connection to TLS with client context tls."""
        self.sock = tls.wrap_socket(self.sock)

    def line(self):
        """One line without its end (str), or None at EOF."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(4096)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def send(self, data):
        """Send bytes (or str) in one write."""
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self, timeout=None):
        """Read one (multi-line) reply: (code, [lines]); code None at EOF.

        With timeout (seconds), waiting longer also gives code None, with
        "(no reply within N s)" as the last line, instead of raising.
        """
        if timeout is None:
            return self._reply()
        self.sock.settimeout(timeout)
        try:
            return self._reply()
        except socket.timeout:
            return None, ["(no reply within %g s)" % timeout]
        finally:
            self.sock.settimeout(TIMEOUT)

    def _reply(self):
        """reply() without a timeout of its own."""
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    if self.buf:
                        lines.append(self.buf.decode(errors="replace"))
                        self.buf = b""
                    return None, lines
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            text = line.rstrip(b"\r").decode(errors="replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                try:
                    return int(text[:3]), lines
                except ValueError:
                    return None, lines

    def recv_exact(self, n):
        """Read exactly n bytes; fewer (maybe none) if the peer closes."""
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def tls_record(self):
        """Read one TLS record: (content type, version, payload), or None
        if the connection ends first."""
        head = self.recv_exact(5)
        if len(head) < 5:
            return None
        rtype, version, length = struct.unpack(">BHH", head)
        payload = self.recv_exact(length)
        if len(payload) < length:
            return None
        return rtype, version, payload

    def wait_closed(self, timeout=TIMEOUT):
        """Read until EOF; return (closed, bytes received meanwhile).

        A connection reset also counts as closed.
        """
        self.sock.settimeout(timeout)
        got = self.buf
        self.buf = b""
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return True, got
                got += chunk
        except (ConnectionResetError, ssl.SSLError):
            return True, got
        except socket.timeout:
            return False, got

    def close(self):
        """Close the socket."""
        try:
            self.sock.close()
        except OSError:
            pass


TLS_RSA_WITH_RC4_128_SHA = 0x0005
TLS_RSA_WITH_3DES_EDE_CBC_SHA = 0x000A
TLS_ALERT = 21			# record content type
TLS_ALERT_FATAL = 2


def client_hello(suites, version=0x0301):
    """A raw TLS ClientHello record as an old appliance sends it: record
    and client_version TLS 1.0 by default, 32 random bytes, no session id,
    the given cipher suites, null compression, no extensions."""
    body = (struct.pack(">H", version) + os.urandom(32) + b"\x00" +
            struct.pack(">H", 2 * len(suites)) +
            b"".join(struct.pack(">H", s) for s in suites) + b"\x01\x00")
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return struct.pack(">BHH", 22, 0x0301, len(handshake)) + handshake


def b64(text):
    """Base64 of a str, as a str."""
    return base64.b64encode(text.encode()).decode()


def xoauth2_encode(user, token):
    """The SASL XOAUTH2 initial response (base64, str)."""
    return b64("user=%s\x01auth=Bearer %s\x01\x01" % (user, token))


def xoauth2_decode(blob):
    """(user, token) of a base64 XOAUTH2 string (str or bytes); raises
    ValueError if it is not one."""
    try:
        fields = base64.b64decode(blob, validate=True).decode().split("\x01")
        if not fields[0].startswith("user=") or \
                not fields[1].startswith("auth=Bearer "):
            raise ValueError("not an XOAUTH2 string")
        return fields[0][len("user="):], fields[1][len("auth=Bearer "):]
    except (UnicodeDecodeError, IndexError) as e:
        raise ValueError("not an XOAUTH2 string: %s" % e)


def reply_bytes(c, timeout=None):
    """One whole reply from a RawClient as the exact bytes received, line
    ends and trailing spaces included (all lines of a multi-line reply);
    whatever arrived before EOF (maybe b"") if the peer closes, and the
    bytes so far if timeout (seconds) passes first."""
    c.sock.settimeout(timeout or TIMEOUT)
    out = b""
    try:
        while True:
            while b"\n" not in c.buf:
                chunk = c.sock.recv(4096)
                if not chunk:
                    out, c.buf = out + c.buf, b""
                    return out
                c.buf += chunk
            line, c.buf = c.buf.split(b"\n", 1)
            out += line + b"\n"
            if len(line) < 4 or line[3:4] != b"-":
                return out
    except socket.timeout:
        return out
    finally:
        c.sock.settimeout(TIMEOUT)
