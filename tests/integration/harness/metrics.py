"""The relay's /metrics and /health listener for the cases: a settings
helper, a scraper that parses the Prometheus text format, and promtool."""

import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request

from .util import free_port

SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_]+)="([^"]*)"')


def add_metrics(settings):
    """A metrics group on a free loopback port; returns the port."""
    port = free_port()
    settings["metrics"] = {"address": "127.0.0.1", "port": port}
    return port


def metrics_port(relay):
    """The port of a relay's metrics listener."""
    return relay.settings["metrics"]["port"]


def http(relay, path, method="GET", data=None):
    """(status, body text) of a request to the metrics listener."""
    req = urllib.request.Request("http://127.0.0.1:%d%s"
                                 % (metrics_port(relay), path),
                                 method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def idle_connections(relay, n):
    """n connections to the metrics listener that send nothing."""
    return [socket.create_connection(("127.0.0.1", metrics_port(relay)),
                                     timeout=10) for _ in range(n)]


def answers_within(relay, path, seconds):
    """Does a GET of path get any answer within seconds?"""
    try:
        urllib.request.urlopen("http://127.0.0.1:%d%s"
                               % (metrics_port(relay), path),
                               timeout=seconds).close()
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def raw_status(relay, request):
    """The status code the listener answers a raw request with."""
    with socket.create_connection(("127.0.0.1", metrics_port(relay)),
                                  timeout=10) as s:
        s.sendall(request)
        line = s.makefile("rb").readline().decode(errors="replace")
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def parse(text):
    """{(name, frozenset of (label, value)): float} of a metrics page."""
    samples = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            labels = frozenset(LABEL.findall(m.group(2) or ""))
            samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    """One sample's value, 0 when the page does not have it."""
    return samples.get((name, frozenset(labels.items())), 0)


def promtool_check(text):
    """promtool check metrics on a page: (ok, output); ok is None without
    promtool."""
    if shutil.which("promtool") is None:
        return None, "promtool not installed"
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()
