#!/usr/bin/python3
"""The booted-systemd checks, run inside the guest that tests/vm/run boots
(systemd as PID 1, the tlsrelay package installed, tlsrelayd.conf and
devices.conf from tests/vm/ in /etc/tlsrelay). Each check is what an admin
does with systemctl and journalctl; the upstream is the integration
suite's scripted SMTP server (STARTTLS, TLS 1.2+, AUTH, a 250 for the
message) on localhost:2525. Results go to the second serial port between
a begin and an end marker, and the guest powers off."""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import types

RESULTS = "/dev/ttyS1"
UNIT = "tlsrelayd.service"
DEVICES = "/etc/tlsrelay/devices.conf"
SHARE = "/usr/local/lib/tlsrelay-vm"
SESSION_END = "efc75055f408445a8195166776938abc"      # src/msgid.h
REFUSED_UNKNOWN = "130f38ded8524149b737e8c972c2c417"
BEGIN, END = "TLSRELAY-VM-BEGIN", "TLSRELAY-VM-END"

sys.path.insert(0, SHARE)
from harness.faultserver import FaultServer  # noqa: E402  (copied in)


class CheckFailure(Exception):
    """A check found the system not as expected."""


def check(ok, what):
    """Fail the current check with what unless ok."""
    if not ok:
        raise CheckFailure(what)


def sh(*cmd, ok=(0,)):
    """Run cmd; its stdout+stderr as text. Fails unless its exit status
    is in ok."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, check=False)
    check(p.returncode in ok, "%s: exit %d\n%s"
          % (" ".join(cmd), p.returncode, p.stdout))
    return p.stdout


def prop(name, unit=UNIT):
    """A property of unit, as systemctl show prints it."""
    return sh("systemctl", "show", "-p", name, "--value", unit).strip()


def wait_for(test, timeout, what):
    """Poll test() until it returns a true value; fail after timeout s."""
    end = time.monotonic() + timeout
    while True:
        value = test()
        if value:
            return value
        check(time.monotonic() < end, "timed out after %d s: %s"
              % (timeout, what))
        time.sleep(0.5)


class Smtp:
    """A device's SMTP session on 127.0.0.1:25, from address source."""

    def __init__(self, source="127.0.0.1", timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", 25), timeout,
                                             source_address=(source, 0))
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        """The next reply: (code, text of all its lines)."""
        lines = []
        while True:
            line = self.file.readline().decode(errors="replace")
            check(line, "connection closed; got %r" % lines)
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, text, want):
        """Send one command line; fail unless the reply code is want."""
        self.sock.sendall(text.encode() + b"\r\n")
        code, reply = self.reply()
        check(code == want, "%s: %r, expected %d" % (text, reply, want))
        return reply

    def close(self):
        """Drop the connection."""
        self.file.close()
        self.sock.close()


def session(source="127.0.0.1"):
    """A complete allowed session: greeting, EHLO, QUIT."""
    s = Smtp(source)
    check(s.greeting[0] == 220, "greeting from %s: %r" % (source, s.greeting))
    s.cmd("EHLO vm.test", 250)
    s.cmd("QUIT", 221)
    s.close()


def journal(*matches):
    """The journal entries of tlsrelayd that have every FIELD=value."""
    out = sh("journalctl", "-o", "json", "--no-pager", "_SYSTEMD_UNIT=" + UNIT,
             *matches, ok=(0, 1))
    return [json.loads(line) for line in out.splitlines() if line]


def install_devices(name):
    """Make tests/vm/NAME the devices file the service reads."""
    shutil.copy(os.path.join(SHARE, name), DEVICES)


def status_devices():
    """How many devices the notify STATUS= line reports."""
    m = re.search(r"devices: (\d+)", prop("StatusText"))
    return int(m.group(1)) if m else None


def check_start():
    """systemctl start returns once READY=1 came; the status line shows."""
    sh("systemctl", "start", UNIT)
    check(prop("ActiveState") == "active", "not active after start")
    status = prop("StatusText")
    check(status.startswith("sessions: 0, devices: 1,"),
          "StatusText after start: %r" % status)
    return status


def check_journal():
    """A session's end has TLSRELAY_* fields; journalctl -x explains a
    refusal from the catalog."""
    session()
    end = wait_for(lambda: journal("TLSRELAY_EVENT=end",
                                   "TLSRELAY_DEVICE=vm-printer"),
                   10, "a session end entry")[-1]
    want = {"MESSAGE_ID": SESSION_END, "TLSRELAY_CLIENT": "127.0.0.1",
            "TLSRELAY_PROTOCOL": "smtp", "TLSRELAY_RESULT": "ok"}
    wrong = {k: end.get(k) for k, v in want.items() if end.get(k) != v}
    check(not wrong, "end entry: %r, expected %r" % (wrong, want))
    check(len(end.get("TLSRELAY_SESSION", "")) == 16, "no TLSRELAY_SESSION")
    refused = Smtp("127.0.0.9")
    refused.close()
    wait_for(lambda: journal("MESSAGE_ID=" + REFUSED_UNKNOWN), 10,
             "a refusal entry")
    text = sh("journalctl", "-x", "--no-pager", "_SYSTEMD_UNIT=" + UNIT,
              "MESSAGE_ID=" + REFUSED_UNKNOWN)
    check("Subject: tlsrelayd refused 127.0.0.9: not an allowed device"
          in text, "journalctl -x shows no catalog text:\n" + text)
    return "fields %s; catalog text shown" % ",".join(
        sorted(k for k in end if k.startswith("TLSRELAY_")))


def upstream_start():
    """The scripted upstream on localhost:2525, with the certificate that
    tests/vm/run made for localhost (its CA is the relay's ca_file)."""
    pair = (SHARE + "/pki/localhost.pem", SHARE + "/pki/localhost.key")
    # FaultServer reads the PKI's three server pairs; "good" serves
    # localhost, the only one tests/vm/run copies in.
    pki = types.SimpleNamespace(localhost=pair, wrongname=pair,
                                selfsigned=pair)
    return FaultServer(pki, "good", port=2525).start()


def check_reload():
    """systemctl reload takes a new devices file; a session logged in
    upstream before the reload sends its message after it."""
    pid = prop("MainPID")
    upstream = upstream_start()
    try:
        s = Smtp()
        s.cmd("EHLO vm.test", 250)
        s.cmd("AUTH PLAIN " + base64.b64encode(
            b"\0printer@vm.test\0device-password").decode(), 235)
        install_devices("devices-two.conf")
        sh("systemctl", "reload", UNIT)
        wait_for(lambda: status_devices() == 2, 10, "devices: 2 in StatusText")
        s.cmd("MAIL FROM:<printer@vm.test>", 250)
        s.cmd("RCPT TO:<admin@vm.test>", 250)
        s.cmd("DATA", 354)
        s.cmd("Subject: across a reload\r\n\r\nscan attached\r\n.", 250)
        s.cmd("QUIT", 221)
        s.close()
        check(upstream.wait_event("message:") is not None,
              "the upstream got no message")
    finally:
        upstream.stop()
    session("127.0.0.2")
    check(prop("MainPID") == pid, "the daemon was restarted, not reloaded")
    return "devices: 2; the open session's message reached the upstream"


def check_bad_reload():
    """An invalid devices file: systemctl reload fails and says why, a
    SIGHUP keeps the old configuration and says so; both keep serving."""
    pid = prop("MainPID")
    install_devices("devices-bad.conf")
    try:
        out = sh("systemctl", "reload", UNIT, ok=(1,))
        log = sh("journalctl", "--no-pager", "-u", UNIT, "-n", "20")
        check("devices" in log, "no word of the bad devices file:\n" + log)
        sh("systemctl", "kill", "-s", "HUP", "--kill-who=main", UNIT)
        status = wait_for(lambda: "last reload failed" in prop("StatusText")
                          and prop("StatusText"), 10,
                          "a failed-reload status")
        check(status.endswith("previous configuration in force"),
              "StatusText: %r" % status)
        check(prop("MainPID") == pid and prop("ActiveState") == "active",
              "the daemon did not stay up")
        session("127.0.0.2")
    finally:
        install_devices("devices-two.conf")
    return "reload refused (%s); status %r" % (out.strip().splitlines()[0],
                                                status)


def check_watchdog():
    """A daemon that stops answering (SIGSTOP) is restarted by the
    watchdog."""
    pid = int(prop("MainPID"))
    restarts = int(prop("NRestarts"))
    os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: int(prop("NRestarts")) > restarts
             and prop("ActiveState") == "active", 120, "a watchdog restart")
    check(int(prop("MainPID")) != pid, "same MainPID after the restart")
    log = sh("journalctl", "--no-pager", "-u", UNIT)
    check("Watchdog timeout" in log, "no watchdog timeout in the journal")
    session()
    return "restarted after the watchdog timeout"


def check_socket_activation():
    """With tlsrelayd.socket listening, the first connection starts the
    service, and the connection is served."""
    sh("systemctl", "stop", UNIT)
    sh("systemctl", "reset-failed", UNIT, ok=(0, 1))
    sh("systemctl", "start", "tlsrelayd.socket")
    check(prop("ActiveState") == "inactive", "service %s before the first "
          "connection" % prop("ActiveState"))
    session()
    check(prop("ActiveState") == "active", "the service did not start")
    check(prop("TriggeredBy").startswith("tlsrelayd.socket"),
          "not triggered by tlsrelayd.socket")
    return "started by the first connection"


def check_security():
    """systemd-analyze security rates the unit at most 2.0."""
    out = sh("systemd-analyze", "security", "--no-pager", UNIT)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", out)
    check(m is not None, "no exposure level:\n" + out[-500:])
    check(float(m.group(1)) <= 2.0, "exposure %s > 2.0" % m.group(1))
    return "exposure %s" % m.group(1)


CHECKS = [check_start, check_journal, check_reload, check_bad_reload,
          check_watchdog, check_socket_activation, check_security]


def journal_tail():
    """The unit's last journal lines, indented, for a failure's detail."""
    p = subprocess.run(["journalctl", "--no-pager", "-n", "15", "-u", UNIT],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, check=False)
    return "".join("#   %s\n" % line for line in p.stdout.splitlines())


def run_checks(out):
    """Run every check in order, writing one PASS or FAIL line each."""
    failed = 0
    for fn in CHECKS:
        name = fn.__name__[len("check_"):]
        try:
            out.write("PASS %s: %s\n" % (name, fn()))
        except Exception as e:  # noqa: BLE001  (any failure is a result)
            failed += 1
            detail = str(e) if isinstance(e, CheckFailure) \
                else traceback.format_exc()
            out.write("FAIL %s: %s\n%s" % (name, detail, journal_tail()))
        out.flush()
    return failed


def main():
    """Wait for the boot to settle, run the checks, power off."""
    sh("systemctl", "is-system-running", "--wait", ok=(0, 1))
    with open(RESULTS, "w") as out:
        out.write("%s\n" % BEGIN)
        out.flush()
        failed = run_checks(out)
        out.write("%s passed=%d failed=%d\n"
                  % (END, len(CHECKS) - failed, failed))
    subprocess.run(["systemctl", "poweroff"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
