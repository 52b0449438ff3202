"""The case runner: shared fixtures once per run, a fresh relay per case."""

import argparse
import glob
import importlib.util
import os
import shutil
import signal
import sys
import time
import traceback

from .case import CaseFailure, Context
from .clients import b64
from .dovecot import Dovecot
from .fixtures import Upstreams, relay_settings, start_upstream
from .pki import PKI
from .postfix import Postfix
from .relay import Relay, _matches
from .util import FixtureError, free_port, make_run_dir, remove_tree, \
    run_cleanups

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_DIR = os.path.join(HERE, "cases")
LOG_TIMEOUT = 15		# seconds to wait for a session log line
LOG_SETTLE = 2			# then seconds to wait for the matching one
ABSENCE_WAIT = 1.5		# seconds to watch for a message that must not come


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived: clean up and stop."""


def _on_signal(signum, frame):
    """Turn SIGTERM/SIGINT into an exception so cleanup code runs."""
    raise Interrupted("signal %d" % signum)


class TestRun:
    """The per-run fixtures: temp dir, PKI, Dovecot, Postfix."""

    def __init__(self, binary, keep=False, debug=False, verbose=False):
        self.binary = binary
        self.keep = keep
        self.debug = debug
        self.verbose = verbose
        self.dir = None
        self.pki = None
        self.dovecot = None
        self.postfix = None

    def setup(self):
        """Make the run dir, the PKI, and start Dovecot and Postfix."""
        self.dir = make_run_dir()
        self.pki = PKI(os.path.join(self.dir, "pki"))
        self.dovecot = Dovecot(os.path.join(self.dir, "dovecot"),
                               self.pki).start()
        self.postfix = Postfix(os.path.join(self.dir, "postfix"), self.pki,
                               self.dovecot, free_port()).start()

    def teardown(self):
        """Stop everything started and remove the run dir (unless kept)."""
        run_cleanups()
        for fixture in (self.postfix, self.dovecot):
            if fixture is not None:
                try:
                    fixture.stop()
                except Exception as e:
                    print("# cleanup: %s" % e)
        if self.dir and not self.keep:
            remove_tree(self.dir)
        elif self.dir:
            print("# kept %s" % self.dir)


def load_cases(pattern=None):
    """Import every cases/NN_name.py (sorted; NN is 00-99, then a0-z9)
    whose name contains pattern."""
    cases = []
    pattern_glob = os.path.join(CASES_DIR, "[0-9a-z][0-9]_*.py")
    for path in sorted(glob.glob(pattern_glob)):
        name = os.path.basename(path)[:-3]
        if pattern and pattern not in name:
            continue
        spec = importlib.util.spec_from_file_location("case_" + name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.CASE.name = name
        cases.append(module.CASE)
    return cases


def _missing_needs(case):
    """External programs the case needs that are not installed."""
    return [p for p in case.needs if shutil.which(p) is None]


def start_fixtures(ctx, case):
    """Start the case's fixtures, then each protocol's upstream; then
    make the relay (its settings and devices) and let the fixtures add
    theirs, then the case's settings."""
    ctx.upstreams = Upstreams()
    for fixture in case.fixtures:
        fixture.start(ctx)
    for protocol, name in case.upstreams.items():
        ctx.upstreams[protocol] = start_upstream(ctx, protocol, name)
    if not case.relay:
        return
    ctx.relay = Relay(ctx.run.binary, os.path.join(ctx.run.dir, case.name),
                      relay_settings(ctx, case), case.devices,
                      debug=ctx.run.debug or case.debug)
    for fixture in case.fixtures:
        fixture.configure(ctx, ctx.relay.settings)
    if case.settings:
        case.settings(ctx.relay.settings)


def stop_fixtures(ctx, case):
    """Stop the upstreams and fixtures that were started."""
    for upstream in (ctx.upstreams or {}).values():
        upstream.stop()
    if ctx.upstreams is not None:
        for fixture in case.fixtures:
            fixture.stop(ctx)


def check_log(ctx, expected):
    """Wait for a session line with all of expected's fields.

    Waits up to LOG_TIMEOUT for the first line with the event, then at most
    LOG_SETTLE more seconds for one that matches every field (another
    session's line may come first); a mismatch is reported field by field.
    """
    expected = dict(expected)
    event = expected.setdefault("event", "end")
    if ctx.relay.wait_session(LOG_TIMEOUT, event=event) is None:
        raise CaseFailure("no session line with event=%s within %d s"
                          % (event, LOG_TIMEOUT))
    fields = ctx.relay.wait_session(LOG_SETTLE, **expected)
    if fields is not None:
        ctx.check_sunset(fields)
        return fields
    got = next(f for f in ctx.relay.sessions() if f.get("event") == event)
    diffs = ["%s=%s (want %s)" % (k, got.get(k), _describe(v))
             for k, v in expected.items() if not _matches(got.get(k), v)]
    raise CaseFailure("session line mismatch: %s" % ", ".join(diffs))


def check_no_secrets(ctx):
    """No password (plain or in its SASL encodings) may appear in the log."""
    text = "\n".join(ctx.relay.lines())
    for secret in ctx.secrets:
        forms = [secret, b64(secret), b64("\0%s\0%s" % (ctx.user, secret))]
        for form in forms:
            if form in text:
                raise CaseFailure("a password appears in the tlsrelayd log"
                                  " (as %r)" % form)


def sanitizer_report(ctx):
    """The first line of an ASan/LSan/UBSan report in the relay's output
    (a --enable-sanitizers build), or None."""
    return next((l for l in ctx.relay.lines()
                 if "Sanitizer:" in l or ": runtime error: " in l), None)


def _describe(want):
    """Human text for an expected log value."""
    if callable(want):
        return getattr(want, "__doc__", None) or "predicate"
    if isinstance(want, (set, frozenset, tuple, list)):
        return "one of " + "|".join(sorted(want))
    return want


def check_after(ctx, case):
    """The case's declared expectations, checked after its client ran."""
    if case.delivered is True:
        if ctx.postfix.wait_message(ctx.msgid, 20) is None:
            raise CaseFailure("message %s not delivered within 20 s"
                              % ctx.msgid)
    elif case.delivered is False:
        if ctx.postfix.wait_message(ctx.msgid, ABSENCE_WAIT) is not None:
            raise CaseFailure("message %s was delivered but must not be"
                              % ctx.msgid)
    if case.log is not None:
        check_log(ctx, case.log)
    if ctx.relay is not None:
        check_no_secrets(ctx)
    want = case.upstream_connections
    if want is not None:
        got = ctx.upstreams.accepted
        ok = want(got) if callable(want) else got == want
        if not ok:
            raise CaseFailure("upstream accepted %d connection(s), expected %s"
                              % (got, _describe(want)))


def run_case(run, case):
    """Run one case; returns (status, reason, diagnostics)."""
    missing = _missing_needs(case)
    if missing:
        return "SKIP", "needs %s" % ", ".join(missing), []
    ctx = Context(run, case)
    status, reason = "PASS", ""
    try:
        start_fixtures(ctx, case)
        if case.relay and case.start:
            ctx.relay.start()
        elif case.relay:
            ctx.relay.write_config()
        case.client(ctx)
        ctx.close_clients()
        for fixture in case.fixtures:
            fixture.check(ctx)
        check_after(ctx, case)
    except CaseFailure as e:
        status, reason = "FAIL", str(e)
    except FixtureError as e:
        status, reason = "FAIL", "fixture: %s" % e
    except Interrupted:
        raise
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)[-1]
        status, reason = "FAIL", "%r at %s:%d" % (
            e, os.path.basename(tb.filename), tb.lineno)
    finally:
        ctx.close_clients()
        stop_fixtures(ctx, case)
        if ctx.relay is not None:
            exit_status = ctx.relay.stop()
            if status == "PASS" and ctx.relay.started and exit_status != 0:
                status, reason = "FAIL", ("tlsrelayd exit status %s after "
                                          "SIGTERM (expected 0)"
                                          % exit_status)
            if status == "PASS" and sanitizer_report(ctx):
                status, reason = "FAIL", sanitizer_report(ctx)
    return status, reason, diagnostics(ctx) \
        if status == "FAIL" or run.verbose else []


def diagnostics(ctx):
    """Evidence for a failed case: notes, relay log, each upstream's
    connections and transcripts or log, the fixtures' notes."""
    out = list(ctx.notes)
    if ctx.relay is not None:
        out.append("tlsrelayd log (%s):" % ctx.relay.log)
        out += ["  " + l for l in ctx.relay.lines()[-30:]]
    for protocol, upstream in (ctx.upstreams or {}).items():
        out += ["%s: %s" % (protocol, l) for l in upstream.describe()]
    if ctx.upstreams is not None:
        for fixture in ctx.case.fixtures:
            out += fixture.notes(ctx)
    return out


def find_daemon(arg):
    """The tlsrelayd binary: --daemon, $TLSRELAYD, or a build in the tree."""
    explicit = arg or os.environ.get("TLSRELAYD")
    if explicit:
        candidates = [explicit]
    else:
        top = os.environ.get("TLSRELAY_SRCDIR") or os.path.dirname(
            os.path.dirname(HERE))
        candidates = [os.path.join(top, "build", "tlsrelayd"),
                      os.path.join(top, "tlsrelayd")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def main(argv=None):
    """Entry point: exit 0 all passed, 1 any failure, 77 skipped."""
    ap = argparse.ArgumentParser(description="tlsrelayd end-to-end cases")
    ap.add_argument("-k", metavar="TEXT", help="only cases whose name "
                    "contains TEXT")
    ap.add_argument("--daemon", help="tlsrelayd binary (default $TLSRELAYD,"
                    " then ./build/tlsrelayd)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the run directory for inspection")
    ap.add_argument("-d", "--debug", action="store_true",
                    help="run tlsrelayd with -d")
    ap.add_argument("-l", "--list", action="store_true",
                    help="list the cases and exit")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the relay log of passing cases too")
    args = ap.parse_args(argv)

    cases = load_cases(args.k)
    if args.list:
        for c in cases:
            print("%-32s %s" % (c.name, c.doc))
        return 0
    if os.geteuid() != 0:
        print("SKIP: the integration tests run private Postfix and Dovecot "
              "instances and need root")
        return 77
    missing = [p for p in ("postfix", "dovecot", "doveconf", "openssl")
               if shutil.which(p, path=os.environ.get("PATH", "") +
                               ":/usr/sbin:/sbin") is None]
    if missing:
        print("SKIP: not installed: %s (run ./scripts/deps)"
              % ", ".join(missing))
        return 77
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    binary = find_daemon(args.daemon)
    if binary is None and any(c.relay for c in cases):
        print("ERROR: tlsrelayd not found: set TLSRELAYD or pass --daemon")
        print("0 passed, %d failed" % len(cases))
        return 1

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    run = TestRun(binary, keep=args.keep, debug=args.debug,
                  verbose=args.verbose)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    started = time.monotonic()
    try:
        print("# tlsrelayd: %s" % binary)
        try:
            run.setup()
        except FixtureError as e:
            print("FAIL fixtures: %s" % e)
            print("0 passed, %d failed" % len(cases))
            return 1
        print("# run dir %s, postfix submission on 127.0.0.1:%d"
              % (run.dir, run.postfix.port))
        for case in cases:
            t0 = time.monotonic()
            status, reason, diag = run_case(run, case)
            counts[status] += 1
            took = time.monotonic() - t0
            if status == "PASS":
                print("PASS %s" % case.name)
                if args.verbose:
                    print("#   took %.1f s" % took)
                for line in diag if args.verbose else []:
                    print("#   " + line)
            elif status == "SKIP":
                print("SKIP %s: %s" % (case.name, reason))
            else:
                print("FAIL %s: %s" % (case.name, reason))
                for line in diag:
                    print("#   " + line)
            sys.stdout.flush()
    except Interrupted as e:
        print("# interrupted (%s): cleaning up" % e)
        counts["FAIL"] += 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        run.teardown()
    print("# %.1f s" % (time.monotonic() - started))
    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 1 if counts["FAIL"] else 0
