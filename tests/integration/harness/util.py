"""Small helpers shared by the fixtures: temp dirs, ports, polling."""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time


class FixtureError(Exception):
    """A fixture could not be set up; the message says which and why."""


def make_run_dir(prefix="tr."):
    """A short per-run directory under /tmp that service users can traverse."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o711)
    return path


def remove_tree(path):
    """Remove a directory tree, ignoring files that are already gone."""
    shutil.rmtree(path, ignore_errors=True)


_given_ports = set()


def _ephemeral_low():
    """The lowest port the kernel hands out for outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago on host, below the kernel's
    ephemeral range (so no outgoing connection of the run can take it
    before its listener binds it) and never given out before in this run."""
    low = min(_ephemeral_low(), 61000)
    for _ in range(1000):
        port = random.randrange(max(1024, low - 12000), low)
        if port in _given_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise FixtureError("no free TCP port below %d on %s" % (low, host))


def closed_port(host="127.0.0.1"):
    """A port nothing listens on: bind, note the port, close."""
    return free_port(host)


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s"
                               % (timeout, what))
        time.sleep(interval)


def listening_ports():
    """The set of TCP ports in LISTEN state on this host (from /proc)."""
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return ports


def wait_listening(ports, timeout, alive=None, what="listener"):
    """Wait until every port is in LISTEN state, without connecting to it."""
    def ready():
        if alive is not None and not alive():
            raise FixtureError("%s exited before listening" % what)
        return set(ports) <= listening_ports()
    wait_until(ready, timeout, what="%s on ports %s" % (what, sorted(ports)))


def run(cmd, timeout=60, check=True, **kw):
    """Run a command with a bounded time; raise FixtureError on failure."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           text=True, **kw)
    except subprocess.TimeoutExpired:
        raise FixtureError("%s: timed out after %d s" % (cmd[0], timeout))
    if check and p.returncode != 0:
        raise FixtureError("%s failed (exit %d):\n%s"
                           % (" ".join(cmd), p.returncode, p.stdout))
    return p


def write_file(path, text, mode=0o644):
    """Write text to path with the given mode."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


_CLEANUPS = []


def register_cleanup(fn):
    """Remember fn so an interrupted run can still stop what it started."""
    _CLEANUPS.append(fn)
    return fn


def unregister_cleanup(fn):
    """Forget fn (it ran normally)."""
    if fn in _CLEANUPS:
        _CLEANUPS.remove(fn)


def run_cleanups():
    """Run every registered cleanup, newest first, ignoring errors."""
    while _CLEANUPS:
        fn = _CLEANUPS.pop()
        try:
            fn()
        except Exception as e:
            print("# cleanup %s: %s" % (getattr(fn, "__qualname__", fn), e))
