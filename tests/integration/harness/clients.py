"""Client-side helpers: TLS contexts, messages with unique ids, SMTP steps."""

import base64
import smtplib
import socket
import ssl
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
    """A byte-level SMTP client for cases smtplib cannot express."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""

    def send(self, data):
        """Send bytes (or str) in one write."""
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """Read one (multi-line) reply: (code, [lines]); code None at EOF."""
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
        except ConnectionResetError:
            return True, got
        except socket.timeout:
            return False, got

    def close(self):
        """Close the socket."""
        try:
            self.sock.close()
        except OSError:
            pass


def b64(text):
    """Base64 of a str, as a str."""
    return base64.b64encode(text.encode()).decode()
