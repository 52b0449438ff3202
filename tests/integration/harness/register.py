"""The exit register (issue 12): tlsrelayctl run against a case's relay,
its configuration and its own state_dir database."""

import json
import os
import sqlite3
import subprocess

from .util import wait_until


def ctl_path(ctx):
    """tlsrelayctl, built next to the tlsrelayd under test."""
    return os.path.join(os.path.dirname(ctx.relay.binary), "tlsrelayctl")


def ctl(ctx, *args, timeout=15):
    """Run tlsrelayctl -c <the relay's config> args: (status, out, err)."""
    p = subprocess.run([ctl_path(ctx), "-c", ctx.relay.conf] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    ctx.note("tlsrelayctl %s -> %d\n%s%s" % (" ".join(args), p.returncode,
                                              p.stdout, p.stderr))
    return p.returncode, p.stdout, p.stderr


def report_row(ctx, device, protocol):
    """The JSON register row of a device's path, or None."""
    status, out, err = ctl(ctx, "report", "--format", "json")
    ctx.check(status == 0, "tlsrelayctl report exited %d: %s"
              % (status, err.strip()))
    for row in json.loads(out):
        if row["device"] == device and row["protocol"] == protocol:
            return row
    return None


def wait_row(ctx, device, protocol, predicate, what, timeout=15):
    """Wait until the device's row satisfies predicate (the writer thread
    commits in batches); returns the row."""
    found = {}

    def ready():
        row = report_row(ctx, device, protocol)
        found["row"] = row
        return row is not None and predicate(row)
    try:
        wait_until(ready, timeout, interval=0.3, what=what)
    except TimeoutError:
        ctx.check(False, "register never showed %s; last row: %r"
                  % (what, found.get("row")))
    return found["row"]


def db_path(ctx):
    """The case relay's database."""
    return os.path.join(ctx.relay.state_dir, "evidence.db")


def integrity(ctx):
    """SQLite's own integrity check of the database: "ok" or the problem."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path(ctx), uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def wait_census(ctx, want, timeout=15):
    """Wait until tlsrelayctl unknown lists every line start in want;
    a failed check otherwise. Returns its last output."""
    found = {"out": ""}

    def listed():
        status, out, _ = ctl(ctx, "unknown")
        found["out"] = out
        return status == 0 and all(w in out for w in want)
    try:
        wait_until(listed, timeout, interval=0.3, what="census")
    except TimeoutError:
        ctx.check(False, "census lacks %r:\n%s" % (want, found["out"]))
    return found["out"]
