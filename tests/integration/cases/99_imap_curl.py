"""curl as the device: imap:// plain, imap:// with STARTTLS and imaps://,
TLS 1.0 pinned; folder list and a known message through the relay."""

import subprocess

from harness.case import Case
from harness.relay import device

LEGACY = ["--tlsv1.0", "--tls-max", "1.0", "--ciphers",
          "DEFAULT:@SECLEVEL=0", "-k"]


def curl(ctx, url, extra=()):
    """Run curl against the relay; returns its stdout."""
    cmd = ["curl", "-sS", "--max-time", "20", "-u",
           "%s:%s" % (ctx.user, ctx.password)] + list(extra) + [url]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    ctx.note("curl %s: exit %d %s" % (url, p.returncode, p.stderr.strip()))
    ctx.check(p.returncode == 0, "curl %s failed (exit %d): %s"
              % (url, p.returncode, p.stderr.strip()))
    return p.stdout


def client(ctx):
    plain = "imap://127.0.0.1:%d/" % ctx.port("imap")
    implicit = "imaps://127.0.0.1:%d/" % ctx.port("imaps")
    for url, extra in ((plain, ()), (plain, ["--ssl-reqd"] + LEGACY),
                       (implicit, LEGACY)):
        listing = curl(ctx, url, extra)
        ctx.check("INBOX" in listing, "%s: no INBOX in %r" % (url, listing))
    found = curl(ctx, implicit + "INBOX?BODY%20" + ctx.run.imap_known, LEGACY)
    ctx.check("SEARCH" in found and found.split()[-1].isdigit(),
              "curl SEARCH for the known message: %r" % found)
    uid = found.split()[-1]
    body = curl(ctx, implicit + "INBOX;MAILINDEX=" + uid, LEGACY)
    ctx.check(ctx.run.imap_known in body,
              "curl FETCH did not return the known message: %r" % body[:200])


CASE = Case(
    "curl imap://, imap:// STARTTLS and imaps:// (TLS 1.0): list and fetch",
    client,
    protocols=("imap",),
    needs=("curl",),
    devices=[device("collector-1", "127.0.0.1", protocols=("imap",),
                    plaintext_auth=True)],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "collector-1", "lan_tls": "TLSv1"},
)
