"""A client secret file readable by others is a configuration error: the
check mode names the file (after the main file and the line of its oauth2
group) and the daemon does not start."""

import os

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device


def client(ctx):
    path = ctx.relay.settings["oauth2"]["client_secret_file"]
    status, output = ctx.relay.run_check()
    ctx.check(status == 0 and "configuration OK" in output,
              "mode 0600: exit %d: %s" % (status, output.strip()))
    os.chmod(path, 0o644)
    status, output = ctx.relay.run_check()
    ctx.check(status != 0 and path in output,
              "mode 0644: expected an error naming %s, got exit %d: %s"
              % (path, status, output.strip()))
    with open(ctx.relay.conf) as f:
        line = next(n for n, text in enumerate(f, 1)
                    if text.lstrip().startswith("oauth2 ="))
    where = "%s:%d: oauth2.client_secret_file " % (ctx.relay.conf, line)
    ctx.check(any(l.startswith(where) for l in output.splitlines()),
              "the error does not start with %r: %s" % (where,
                                                        output.strip()))
    status = ctx.relay.run_once()
    ctx.check(status not in (0, None), "daemon with a world-readable "
              "secret file: exit status %r" % status)
    ctx.check(ctx.tokens.secret not in output, "the secret is in the "
              "check output")


CASE = Case(
    "client_secret_file readable by others -> -t fails naming the file, "
    "daemon does not start",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    devices=[oauth_device("mfp-oauth")],
    start=False,
)
