"""A private Dovecot: SASL backend for the test Postfix, later IMAP/POP3.

Follows REFERENCE.md: own base_dir/state_dir/log_path, listen on 127.0.0.1
only, ssl = required with TLS 1.2 as the minimum, a passwd-file passdb keyed
on the service and %{secured} (so a loopback IMAP/POP3 listener still
insists on TLS), a static userdb owned by nobody, no auth failure delay and
no anvil auth penalty.
"""

import os
import signal
import subprocess

from .util import FixtureError, register_cleanup, run, unregister_cleanup, \
    wait_listening, wait_until, write_file

USER = "scanner@example.test"
PASSWORD = "s3cret-Pass"
OTHER_USER = "copier@example.test"	# a second mailbox
OTHER_PASSWORD = "0ther-Pass"

CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
instance_name = tlsrelay-test-{tag}
protocols = {protocols}
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = {mail_location}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd.%s-%{{secured}}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%d/%n
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
{listeners}
"""

IMAP_LISTENER = """\
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
"""

POP3_LISTENER = """\
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
  }}
}}
"""


class Dovecot:
    """A Dovecot instance owned by the test run (foreground child process).

    users maps user name to password (USER and OTHER_USER by default).
    imap_port/pop3_port, when given, add STARTTLS-capable IMAP/POP3
    listeners on 127.0.0.1 that only take logins over TLS 1.2+. imaps_port adds an implicit-TLS IMAP listener,
    pop3s_port an implicit-TLS POP3 listener. cert is the (cert, key) the
    listeners present (pki.localhost by default). mail_location is
    Dovecot's mail_location (a maildir per user under dir by default; the
    demo points it at the test Postfix's virtual maildir).
    """

    def __init__(self, dir, pki, users=None, imap_port=None, pop3_port=None,
                 imaps_port=None, pop3s_port=None, cert=None,
                 mail_location=None):
        self.dir = dir
        self.pki = pki
        self.users = users or {USER: PASSWORD, OTHER_USER: OTHER_PASSWORD}
        self.imap_port = imap_port
        self.pop3_port = pop3_port
        self.imaps_port = imaps_port
        self.pop3s_port = pop3s_port
        self.cert = cert or pki.localhost
        self.mail_location = mail_location or \
            "maildir:%s/mail/%%d/%%n" % dir
        self.conf = os.path.join(dir, "dovecot.conf")
        self.log = os.path.join(dir, "dovecot.log")
        self.auth_socket = os.path.join(dir, "run", "auth-postfix")
        self.proc = None

    def _write_config(self):
        """Write dovecot.conf and the passwd files."""
        for sub in ("run", "state", "mail", "home"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.chmod(self.dir, 0o711)
        for sub in ("mail", "home"):
            os.chown(os.path.join(self.dir, sub), 65534, 65534)
        protocols, listeners = [], []
        if self.imap_port or self.imaps_port:
            protocols.append("imap")
            listeners.append(IMAP_LISTENER.format(
                port=self.imap_port or 0, imaps_port=self.imaps_port or 0))
        if self.pop3_port or self.pop3s_port:
            protocols.append("pop3")
            listeners.append(POP3_LISTENER.format(
                port=self.pop3_port or 0, pop3s_port=self.pop3s_port or 0))
        cert, key = self.cert
        write_file(self.conf, CONF.format(
            dir=self.dir, tag=os.path.basename(os.path.dirname(self.dir)),
            protocols=" ".join(protocols) or "none", cert=cert, key=key,
            mail_location=self.mail_location,
            uid=65534, gid=65534, listeners="".join(listeners)))
        lines = "".join("%s:{PLAIN}%s\n" % (u, p)
                        for u, p in self.users.items())
        # Postfix asks as service "smtp" and enforces TLS itself
        # (smtpd_tls_auth_only), so its file exists for every %{secured}
        # value; IMAP and POP3 get only the TLS variant. doveadm (seeding
        # and checking mailboxes) looks users up as service "doveadm".
        for name in ("smtp-", "smtp-secured", "smtp-TLS",
                     "imap-TLS", "pop3-TLS", "doveadm-"):
            write_file(os.path.join(self.dir, "passwd." + name), lines,
                       0o640)
            os.chown(os.path.join(self.dir, "passwd." + name), 0,
                     _gid("dovecot"))

    def start(self):
        """Validate the config, start Dovecot and wait for its sockets."""
        self._write_config()
        run(["doveconf", "-c", self.conf, "-n"])
        logf = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        register_cleanup(self.stop)
        alive = lambda: self.proc.poll() is None
        try:
            wait_until(lambda: not alive() or os.path.exists(self.auth_socket),
                       15, what="dovecot auth socket")
            if not alive():
                raise FixtureError("dovecot exited: %s" % self.tail())
            ports = [p for p in (self.imap_port, self.pop3_port,
                                 self.imaps_port, self.pop3s_port) if p]
            if ports:
                wait_listening(ports, 15, alive, "dovecot")
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop Dovecot (SIGTERM, then SIGKILL after 10 s)."""
        unregister_cleanup(self.stop)
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def tail(self, n=20):
        """The last lines of the Dovecot log, for error messages."""
        out = []
        for name in (self.log, os.path.join(self.dir, "stdout.log")):
            try:
                with open(name, errors="replace") as f:
                    out += f.read().splitlines()[-n:]
            except FileNotFoundError:
                pass
        return "\n".join(out)


def login_count(log, service, user):
    """How many service ("pop3", "imap") logins of user the Dovecot log
    file log holds so far."""
    with open(log, errors="replace") as f:
        return sum("%s-login: " % service in l and
                   "Login: user=<%s>" % user in l for l in f)


def _gid(group):
    """Numeric gid of a group."""
    import grp
    return grp.getgrnam(group).gr_gid
