"""tlsrelayd --hash-secret as an admin uses it: the secret on stdin with
or without a line end gives a yescrypt hash (a fresh salt each time) that
the relay accepts for that secret; empty input is refused."""

import subprocess

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device
from harness.steps import smtp_login

SECRET = "Scan-To-Mail 2026!"


def hash_cli(ctx, data):
    """Run tlsrelayd --hash-secret with data on stdin: (status, out)."""
    p = subprocess.run([ctx.run.binary, "--hash-secret"], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    return p.returncode, p.stdout


def client(ctx):
    ctx.secrets.add(SECRET)
    hashes = []
    for data in (SECRET + "\n", SECRET):
        status, out = hash_cli(ctx, data)
        ctx.check(status == 0 and out.startswith("$y$") and
                  out.count("\n") == 1 and SECRET not in out,
                  "--hash-secret with %r: exit %d, %r" % (data, status, out))
        hashes.append(out.strip())
    ctx.check(hashes[0] != hashes[1], "two hashes with the same salt")
    status, out = hash_cli(ctx, "")
    ctx.check(status != 0 and out == "", "--hash-secret with no input: "
              "exit %d, %r" % (status, out))
    for d, h in zip(ctx.relay.devices, hashes):
        d["secret_hash"] = h
    ctx.relay.start()
    for i, source in enumerate(("127.0.0.1", "127.0.0.2")):
        s, reply = smtp_login(ctx, secret=SECRET, source=source)
        ctx.expect_code(reply, 235, "device %d with its CLI-made hash"
                        % (i + 1))
        ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


CASE = Case(
    "tlsrelayd --hash-secret: stdin with or without newline -> yescrypt "
    "hashes the relay accepts; empty input refused",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-1", "127.0.0.1"),
             oauth_device("mfp-2", "127.0.0.2")],
    start=False,
    upstream_connections=2,
)
