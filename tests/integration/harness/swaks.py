"""Running swaks as a device would: one message carrying ctx.msgid."""

import subprocess

from .case import CaseFailure


def swaks(ctx, port, *options, expect_exit=0):
    """Run swaks against 127.0.0.1:port with the test credentials and a
    body carrying ctx.msgid; returns its transcript."""
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(port),
           "--ehlo", "scanner.lan", "--timeout", "20",
           "--from", "scanner@example.test", "--to", "inbox@example.test",
           "--auth-user", ctx.user, "--auth-password", ctx.password,
           "--header", "Subject: swaks %s" % ctx.msgid,
           "--body", "id: %s" % ctx.msgid]
    if any(o.startswith("--tls") for o in options):
        cmd += ["--tls-cipher", "DEFAULT:@SECLEVEL=0"]
    cmd += list(options)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise CaseFailure("swaks timed out")
    if p.returncode != expect_exit:
        ctx.note("swaks transcript:")
        ctx.notes += ["  " + l for l in p.stdout.splitlines()[-25:]]
        raise CaseFailure("swaks exited %d (expected %d): %s"
                          % (p.returncode, expect_exit,
                             (p.stdout.strip().splitlines() or [""])[-1]))
    return p.stdout
