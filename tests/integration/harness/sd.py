"""systemd's side of tlsrelayd for the 8x cases: an sd_notify socket to
read, starting the daemon with a service manager's environment (or through
systemd-socket-activate), and a private systemd-journald to query.

The daemon is started here rather than by the runner (the cases say
start=False); it still ends up in ctx.relay.proc, so the runner's SIGTERM
and exit-status check apply as usual.
"""

import json
import os
import shutil
import signal
import socket
import subprocess

from .util import FixtureError, register_cleanup, run, unregister_cleanup, \
    wait_listening, wait_until

JOURNALD_PATHS = ("/lib/systemd/systemd-journald",
                  "/usr/lib/systemd/systemd-journald")
CATALOG = os.path.join("systemd", "tlsrelayd.catalog")  # in the build dir


class NotifySocket:
    """The datagram socket a service manager reads sd_notify() messages
    from; each message is kept as a dict of its KEY=value lines, in order."""

    def __init__(self, dir):
        self.path = os.path.join(dir, "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []
        register_cleanup(self.close)

    def env(self):
        """The environment that points the daemon at this socket."""
        return {"NOTIFY_SOCKET": self.path}

    def poll(self):
        """Read every message waiting; returns the list of all so far."""
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return self.messages
            fields = dict(line.split("=", 1) for line in
                          data.decode(errors="replace").splitlines()
                          if "=" in line)
            self.messages.append(fields)

    def wait(self, timeout=10, since=0, **want):
        """Index of the first message from since on that has every
        KEY=value of want; None after timeout."""
        def found():
            for i, m in enumerate(self.poll()[since:], since):
                if all(m.get(k) == v for k, v in want.items()):
                    return i + 1
            return None
        try:
            return wait_until(found, timeout, what="notify %r" % want) - 1
        except TimeoutError:
            return None

    def count(self, since=0, **want):
        """How many messages from since on have every KEY=value of want."""
        return sum(1 for m in self.poll()[since:]
                   if all(m.get(k) == v for k, v in want.items()))

    def describe(self):
        """The messages so far, one per line, for failure notes."""
        return "\n".join("  %r" % m for m in self.poll()) or "  (none)"

    def close(self):
        """Close and remove the socket."""
        unregister_cleanup(self.close)
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def start(ctx, env=None, wrapper=(), foreground=True, ports=None):
    """Write and check ctx.relay's config, then start the daemon with env
    added to the environment, behind wrapper (a command that ends by
    exec'ing its arguments); wait for ports (default: the listeners') to
    be listening unless ports is empty."""
    relay = ctx.relay
    relay.write_config()
    relay.check_config()
    cmd = list(wrapper) + [relay.binary] + (["-f"] if foreground else []) \
        + ["-c", relay.conf]
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("NOTIFY_", "LISTEN_", "WATCHDOG_"))}
    full_env.update(env or {})
    with open(relay.log, "w") as logf:
        relay.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                      stdout=logf, stderr=logf,
                                      cwd=relay.dir, env=full_env)
    relay.started = True
    register_cleanup(relay.stop)
    try:
        wait_listening(relay.ports() if ports is None else ports, 10,
                       relay.alive, "tlsrelayd")
    except (TimeoutError, FixtureError) as e:
        relay.stop()
        raise FixtureError("%s (exit status %s)\n%s"
                           % (e, relay.exit_status, relay.tail()))
    return relay.proc


def run_to_exit(ctx, env=None, timeout=10):
    """Run the daemon on ctx.relay's files (already written) until it
    exits by itself; returns its exit status, None if it kept running."""
    relay = ctx.relay
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(relay.log, "a") as logf:
        p = subprocess.Popen([relay.binary, "-f", "-c", relay.conf],
                             stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=logf, cwd=relay.dir, env=full_env)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        return None


def socket_activate(listen, names, env=None):
    """The systemd-socket-activate command line that listens on each
    "address:port" of listen, names the sockets, and at the first
    connection passes them on (with LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID
    and the variables of env, its only environment)."""
    cmd = ["systemd-socket-activate", "--fdname=" + ":".join(names)]
    for address in listen:
        cmd += ["-l", address]
    for name, value in (env or {}).items():
        cmd += ["-E", "%s=%s" % (name, value)]
    return cmd


def proc_status(pid):
    """The fields of /proc/PID/status as a dict of strings."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


class PrivateJournal:
    """A systemd-journald that only the daemon sees: both run in one mount
    namespace whose /run is root/run, so /run/systemd/journal/socket is
    this journald's. journalctl --root=root reads what it stored, and
    explains it (-x) with the tlsrelayd catalog installed under root: the
    one make built next to the daemon binary."""

    def __init__(self, dir, daemon):
        self.root = os.path.join(dir, "journal-root")
        self.pidfile = os.path.join(self.root, "journald.pid")
        self.journald = next((p for p in JOURNALD_PATHS
                              if os.access(p, os.X_OK)), None)
        if self.journald is None:
            raise FixtureError("systemd-journald not found in %s"
                               % ", ".join(JOURNALD_PATHS))
        for sub in ("run", "var/log/journal", "var/lib/systemd/catalog",
                    "usr/lib/systemd/catalog"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        catalog = os.path.join(os.path.dirname(daemon), CATALOG)
        if not os.path.isfile(catalog):
            raise FixtureError("%s: not built (make builds it)" % catalog)
        shutil.copy(catalog, os.path.join(self.root,
                                          "usr/lib/systemd/catalog"))
        run(["journalctl", "--root=" + self.root, "--update-catalog"])
        register_cleanup(self.stop)

    def wrapper(self):
        """The command that makes the namespace, starts journald in it and
        then execs its arguments (the daemon)."""
        script = """
            set -e
            mount --bind "$1/run" /run
            if [ -d /var/log/journal ]; then
                mount --bind "$1/var/log/journal" /var/log/journal
            fi
            "$2" </dev/null >/dev/null 2>&1 &
            echo $! > "$1/journald.pid"
            i=0
            while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 200 ]
            do
                sleep 0.05
                i=$((i + 1))
            done
            shift 2
            exec "$@"
        """
        return ["unshare", "--mount", "--propagation", "private", "sh",
                "-c", script, "sh", self.root, self.journald]

    def entries(self, *matches):
        """The entries matching every FIELD=value of matches, as dicts."""
        p = run(["journalctl", "--root=" + self.root, "--no-pager",
                 "-o", "json"] + list(matches), check=False)
        return [json.loads(line) for line in p.stdout.splitlines()
                if line.startswith("{")]

    def wait_entry(self, *matches, timeout=10):
        """The first entry matching matches, waiting for it; or None."""
        try:
            return wait_until(lambda: (self.entries(*matches) or [None])[0],
                              timeout, interval=0.2,
                              what="journal entry %s" % " ".join(matches))
        except TimeoutError:
            return None

    def explain(self, *matches):
        """journalctl -x output for the entries matching matches. It reads
        the catalog database from /var/lib/systemd/catalog whatever --root
        says, so it runs where that path is root's."""
        script = """
            for d in /var/lib/systemd/catalog /var/lib/systemd /var/lib; do
                [ -d "$d" ] && break
            done
            mount --bind "$1$d" "$d"
            shift
            exec journalctl "$@"
        """
        return run(["unshare", "--mount", "--propagation", "private", "sh",
                    "-c", script, "sh", self.root, "--root=" + self.root,
                    "--no-pager", "-x"] + list(matches), check=False).stdout

    def stop(self):
        """Stop the journald this fixture started."""
        unregister_cleanup(self.stop)
        try:
            with open(self.pidfile) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return
        os.unlink(self.pidfile)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
