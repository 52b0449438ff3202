"""A private Postfix: the submission upstream (TLS 1.2+, SASL required).

Follows REFERENCE.md: postfix -c ABSDIR start/stop, own queue and data
directories, maillog_file with the postlog service, inet_interfaces =
127.0.0.1, chroot off, SASL through the private Dovecot, and virtual maildir
delivery for example.test into one maildir the tests search by body id.
"""

import os
import pwd

from .util import FixtureError, register_cleanup, run, unregister_cleanup, \
    wait_listening, wait_until, write_file

DOMAIN = "example.test"
RECIPIENTS = ("scanner@example.test", "inbox@example.test",
              "alerts@example.test")

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {dir}/etc
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = upstream.test
mydomain = upstream.test
myorigin = upstream.test
mydestination =
relay_domains =
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtputf8_enable = no
biff = no
maillog_file = {dir}/maillog
maillog_file_prefixes = /tmp
alias_maps =
alias_database =
local_recipient_maps =
default_transport = error:no outbound mail in tests
relay_transport = error:no outbound mail in tests
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {dir}/vmail
virtual_mailbox_maps = texthash:{dir}/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_banner = $myhostname ESMTP test upstream
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = {auth_socket}
smtpd_sasl_auth_enable = no
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

MASTER_CF = """\
{port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_protocols=>=TLSv1.2
  -o smtpd_tls_mandatory_protocols=>=TLSv1.2
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A Postfix instance owned by the test run, with a submission port."""

    def __init__(self, dir, pki, dovecot, port):
        self.dir = os.path.abspath(dir)	# postfix -c needs an absolute path
        self.pki = pki
        self.dovecot = dovecot
        self.port = port
        self.confdir = os.path.join(self.dir, "etc")
        self.maildir = os.path.join(self.dir, "vmail", DOMAIN, "inbox")
        self.maillog = os.path.join(self.dir, "maillog")
        self.running = False

    def _write_config(self):
        """Write main.cf, master.cf and the virtual mailbox map."""
        os.makedirs(self.confdir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        vmail = os.path.join(self.dir, "vmail")
        os.makedirs(vmail, exist_ok=True)
        os.chown(vmail, 65534, 65534)
        os.makedirs(os.path.join(self.dir, "queue"), 0o755, exist_ok=True)
        data = os.path.join(self.dir, "data")
        os.makedirs(data, 0o700, exist_ok=True)
        os.chown(data, pwd.getpwnam("postfix").pw_uid, 0)
        cert, key = self.pki.localhost
        write_file(os.path.join(self.confdir, "main.cf"), MAIN_CF.format(
            dir=self.dir, domain=DOMAIN, cert=cert, key=key,
            auth_socket=self.dovecot.auth_socket))
        write_file(os.path.join(self.confdir, "master.cf"),
                   MASTER_CF.format(port=self.port))
        write_file(os.path.join(self.dir, "vmailbox"),
                   "".join("%s %s/inbox/\n" % (r, DOMAIN)
                           for r in RECIPIENTS))

    def start(self):
        """Check the config, start Postfix, wait for the submission port."""
        self._write_config()
        self.running = True
        register_cleanup(self.stop)
        run(["postfix", "-c", self.confdir, "start"], timeout=60)
        try:
            wait_listening([self.port], 20, what="postfix submission")
        except Exception as e:
            self.stop()
            raise FixtureError("%s\n%s" % (e, self.tail()))
        return self

    def master_pid(self):
        """The master's pid from its pid file, or None."""
        try:
            with open(os.path.join(self.dir, "queue", "pid",
                                   "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        """postfix stop, wait for the master to exit, else SIGKILL it."""
        unregister_cleanup(self.stop)
        if not self.running:
            return
        self.running = False
        pid = self.master_pid()
        run(["postfix", "-c", self.confdir, "stop"], timeout=30, check=False)
        if pid is None:
            return
        try:
            wait_until(lambda: not os.path.exists("/proc/%d" % pid), 10,
                       what="postfix master exit")
        except TimeoutError:
            try:
                os.killpg(pid, 9)
            except OSError:
                pass
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def find_message(self, needle):
        """Paths of delivered messages (new/ or cur/) containing needle."""
        found = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for name in names:
                path = os.path.join(d, name)
                try:
                    with open(path, "rb") as f:
                        if needle.encode() in f.read():
                            found.append(path)
                except FileNotFoundError:
                    pass
        return found

    def wait_message(self, needle, timeout=20):
        """Wait for a message containing needle; return its path or None."""
        try:
            return wait_until(lambda: self.find_message(needle), timeout,
                              interval=0.1, what="delivery")[0]
        except TimeoutError:
            return None

    def tail(self, n=30):
        """The last lines of the Postfix log."""
        try:
            with open(self.maillog, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except FileNotFoundError:
            return "(no maillog)"
