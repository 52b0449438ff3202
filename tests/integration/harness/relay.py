"""Running tlsrelayd: config files, start/stop/reload, reading its log."""

import datetime
import os
import signal
import subprocess
import threading

from .util import FixtureError, register_cleanup, unregister_cleanup, \
    wait_listening, wait_until, write_file

DEFAULT_SUNSET_DAYS = 400	# a device's sunset, relative to today


def today():
    """Today's local date (the daemon counts days_left in local time)."""
    return datetime.date.today()


def sunset_in(days):
    """The date days from today as YYYY-MM-DD (negative: in the past)."""
    return (today() + datetime.timedelta(days=days)).isoformat()


def days_until(date_text):
    """Days from today to a YYYY-MM-DD date."""
    return (datetime.date.fromisoformat(date_text) - today()).days


def device(name, addresses, protocols=("smtp",), sunset=None,
           plaintext_auth=False, auth="passthrough", owner="it@example.test",
           notes="integration test device", senders=None, ignore_auth=None):
    """A devices-file entry as a dict (sunset defaults to ~13 months ahead).

    senders (list) and ignore_auth (bool) are written only when given
    (auth = "connector" needs senders; ignore_auth is for "connector" and
    "relay")."""
    if isinstance(addresses, str):
        addresses = [addresses]
    d = {"name": name, "addresses": list(addresses),
         "protocols": list(protocols),
         "sunset": sunset or sunset_in(DEFAULT_SUNSET_DAYS),
         "owner": owner, "notes": notes, "auth": auth,
         "plaintext_auth": plaintext_auth}
    if senders is not None:
        d["senders"] = list(senders)
    if ignore_auth is not None:
        d["ignore_auth"] = ignore_auth
    return d


def connector_upstream(host, port, certificate, key, accepted_domains,
                       ca_file, **more):
    """The upstreams.connector group (Exchange Online SMTP relay: always
    STARTTLS, a client certificate naming an accepted domain, no AUTH);
    more adds keys such as min_version or ca_path."""
    group = {"host": host, "port": port, "certificate": certificate,
             "key": key, "accepted_domains": list(accepted_domains),
             "ca_file": ca_file}
    group.update(more)
    return group


def _quote(text):
    """A libconfig string literal."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def to_libconfig(value, indent=""):
    """Render a Python value as libconfig: dict -> group, list of dicts ->
    list, list of scalars -> array, str, bool, int."""
    inner = indent + "  "
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, dict):
        body = "".join("%s%s = %s;\n" % (inner, k, to_libconfig(v, inner))
                       for k, v in value.items())
        return "{\n%s%s}" % (body, indent)
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], dict):
            items = (",\n" + inner).join(to_libconfig(v, inner)
                                        for v in value)
            return "(\n%s%s\n%s)" % (inner, items, indent)
        return "[ %s ]" % ", ".join(to_libconfig(v, inner) for v in value)
    raise TypeError("cannot render %r as libconfig" % (value,))


def settings_file(settings):
    """A libconfig file body from top-level settings."""
    return "".join("%s = %s;\n" % (k, to_libconfig(v))
                   for k, v in settings.items())


def parse_fields(line, first="session"):
    """Parse the key=value pairs from the first "<first>=" on.

    Values may be double-quoted with backslash escapes. Returns a dict, or
    None when the line has no such field.
    """
    start = line.find(first + "=")
    if start < 0 or (start > 0 and line[start - 1] != " "):
        return None
    text = line[start:]
    fields = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq]
        i = eq + 1
        if i < n and text[i] == '"':
            i += 1
            value = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            i += 1
            fields[key] = "".join(value)
        else:
            end = text.find(" ", i)
            end = n if end < 0 else end
            fields[key] = text[i:end]
            i = end
    return fields


def base_settings(pki, listeners, upstreams):
    """The relay's main settings the cases and the demo start from: the
    run's LAN certificate, TLS 1.0 allowed on the LAN, roomy limits."""
    cert, key = pki.lan
    return {
        "server_name": "relay.test",
        "warn_days": 30,
        "limits": {"prelogin_timeout": 30, "idle_timeout": 60,
                   "upstream_timeout": 10},
        "lan_tls": {"certificate": cert, "key": key,
                    "min_version": "TLSv1"},
        "listeners": listeners,
        "upstreams": upstreams,
    }


class Relay:
    """A tlsrelayd instance for one case, configured from Python values."""

    def __init__(self, binary, dir, settings, devices, debug=False):
        self.binary = binary
        self.dir = dir
        self.settings = settings
        self.devices = devices
        self.debug = debug
        self.conf = os.path.join(dir, "tlsrelayd.conf")
        self.devices_conf = os.path.join(dir, "devices.conf")
        self.log = os.path.join(dir, "tlsrelayd.log")
        self.state_dir = os.path.join(dir, "state")	# its own register
        self.proc = None
        self.exit_status = None
        self.started = False	# start() was called: must exit 0 at the end
        os.makedirs(dir, exist_ok=True)

    def write_config(self):
        """Write the main file and the devices file."""
        settings = dict(self.settings)
        settings["devices_file"] = "devices.conf"
        settings.setdefault("state_dir", self.state_dir)
        write_file(self.conf, settings_file(settings))
        self.write_devices(self.devices)

    def write_devices(self, devices):
        """(Re)write the devices file atomically."""
        self.devices = devices
        self.write_devices_text(settings_file({"devices": devices})
                                if devices else "devices = ();\n")

    def write_devices_text(self, text):
        """(Re)write the devices file atomically with text as it is (for
        files that must not parse)."""
        tmp = self.devices_conf + ".new"
        write_file(tmp, text)
        os.rename(tmp, self.devices_conf)

    def run_check(self, timeout=30):
        """tlsrelayd -t on the current files: (exit status, stdout+stderr)."""
        p = subprocess.run([self.binary, "-t", "-c", self.conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout

    def run_once(self, timeout=10):
        """Run the daemon (not -t) in the foreground on the current files
        and wait for it to exit by itself (e.g. a bad configuration); its
        output goes to the log. Returns the exit status, None if it was
        still running after timeout (then it is killed)."""
        with open(self.log, "a") as logf:
            p = subprocess.Popen([self.binary, "-f", "-c", self.conf],
                                 stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=logf, cwd=self.dir)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            return None

    def check_config(self):
        """tlsrelayd -t: must print "configuration OK" and exit 0."""
        status, output = self.run_check()
        if status != 0 or "configuration OK" not in output:
            raise FixtureError("tlsrelayd -t rejected the test config "
                               "(exit %d):\n%s\n--- config:\n%s"
                               % (status, output.strip(),
                                  open(self.conf).read()))

    def ports(self):
        """The TCP ports of the configured listeners."""
        return [l["port"] for l in self.settings.get("listeners", [])]

    def start(self):
        """Write config, check it, start in the foreground, wait for ports."""
        self.write_config()
        self.check_config()
        self.started = True
        cmd = [self.binary, "-f", "-c", self.conf]
        if self.debug:
            cmd.insert(1, "-d")
        logf = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, cwd=self.dir)
        logf.close()
        register_cleanup(self.stop)
        try:
            wait_listening(self.ports(), 10, self.alive, "tlsrelayd")
        except (TimeoutError, FixtureError) as e:
            self.stop()
            raise FixtureError("%s (exit status %s)\n%s"
                               % (e, self.exit_status, self.tail()))
        return self

    def alive(self):
        """Is the daemon still running?"""
        return self.proc is not None and self.proc.poll() is None

    def rss(self):
        """The daemon's resident set size in bytes (VmRSS in /proc)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise FixtureError("no VmRSS for tlsrelayd pid %d" % self.proc.pid)

    def reload(self, devices=None, timeout=10,
               expect="configuration reloaded"):
        """Rewrite the devices file (if given), SIGHUP, wait for a line
        containing expect; returns that line."""
        mark = len(self.lines())
        if devices is not None:
            self.write_devices(devices)
        self.signal(signal.SIGHUP)
        return self.wait_line(lambda l: expect in l, timeout, since=mark,
                              what=expect)

    def signal(self, signum):
        """Send a signal to the running daemon."""
        self.proc.send_signal(signum)

    def wait_exit(self, timeout=10):
        """Wait for the daemon to exit by itself; records and returns its
        exit status (None if it is still running after timeout)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        unregister_cleanup(self.stop)
        self.exit_status = self.proc.returncode
        self.proc = None
        return self.exit_status

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout; records exit_status."""
        unregister_cleanup(self.stop)
        if self.proc is None:
            return self.exit_status
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.exit_status = "killed after %d s" % timeout
                self.proc = None
                return self.exit_status
        self.exit_status = self.proc.returncode
        self.proc = None
        return self.exit_status

    def lines(self):
        """All lines the daemon has written so far."""
        try:
            with open(self.log, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_line(self, predicate, timeout=10, since=0, what="log line"):
        """Wait for a log line (from index since on) satisfying predicate;
        returns it, or raises TimeoutError."""
        def found():
            return next((l for l in self.lines()[since:] if predicate(l)),
                        None)
        return wait_until(found, timeout, what=what)

    def events(self):
        """Parsed key=value lines that are not session lines (they start
        at "event=", e.g. the device_expiring warnings), in order."""
        return [f for l in self.lines()
                if parse_fields(l) is None
                for f in [parse_fields(l, first="event")] if f]

    def wait_event(self, timeout=10, **match):
        """Wait for a non-session event line whose fields include match;
        return it or None."""
        def found():
            return next((f for f in self.events()
                         if all(_matches(f.get(k), v)
                                for k, v in match.items())), None)
        try:
            return wait_until(found, timeout, what="event line %r" % match)
        except TimeoutError:
            return None

    def sessions(self):
        """Parsed session lines, in order."""
        return [f for f in map(parse_fields, self.lines()) if f]

    def wait_session(self, timeout=15, **match):
        """Wait for a session line whose fields include match; return it."""
        def found():
            for f in self.sessions():
                if all(_matches(f.get(k), v) for k, v in match.items()):
                    return f
            return None
        try:
            return wait_until(found, timeout, what="log line %r" % match)
        except TimeoutError:
            return None

    def wait_sessions(self, count, timeout=10, **match):
        """Wait until at least count session lines match; return them all
        (fewer if timeout passed first)."""
        def matching():
            return [f for f in self.sessions()
                    if all(_matches(f.get(k), v) for k, v in match.items())]
        try:
            return wait_until(lambda: len(matching()) >= count and
                              matching(), timeout,
                              what="%d log lines %r" % (count, match))
        except TimeoutError:
            return matching()

    def tail(self, n=25):
        """The last lines of the daemon's log, for failure reports."""
        return "\n".join(self.lines()[-n:])


def _matches(value, want):
    """Does a logged value satisfy want (str, set/tuple of str, callable)?"""
    if value is None:
        return False
    if callable(want):
        return bool(want(value))
    if isinstance(want, (set, frozenset, tuple, list)):
        return value in want
    return value == str(want)


class RssWatch:
    """Samples a running relay's RSS every interval seconds from start()
    until stop(), which returns the peak (bytes); base is the RSS when
    the watch started."""

    def __init__(self, relay, interval=0.01):
        self.relay = relay
        self.interval = interval
        self.base = self.peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self):
        """Take the base sample and start sampling."""
        self.base = self.peak = self.relay.rss()
        self.thread.start()
        return self

    def _sample(self):
        """Keep the highest RSS seen until stopped."""
        while not self.done.wait(self.interval):
            try:
                self.peak = max(self.peak, self.relay.rss())
            except (OSError, FixtureError):
                return

    def stop(self):
        """Stop sampling; the peak RSS."""
        self.done.set()
        self.thread.join(5)
        return self.peak

    @staticmethod
    def bounded(growth, limit):
        """Is an RSS growth within limit? Always true against a sanitizer
        build (tests/sanitizers/run sets TLSRELAY_SANITIZERS): ASan's
        quarantine and redzones make RSS measure the allocator, not the
        relay's buffering; the plain build's run checks the limit."""
        return growth < limit or bool(os.environ.get("TLSRELAY_SANITIZERS"))
