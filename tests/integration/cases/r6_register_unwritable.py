"""A state_dir that cannot be written does not stop sessions: the message
is delivered and one warning says the register is not kept."""

from harness.case import Case
from harness.relay import device
from harness.steps import plain_auth_and_send


def client(ctx):
    plain_auth_and_send(ctx)
    plain_auth_and_send(ctx)
    ctx.relay.wait_line(lambda l: "evidence: cannot" in l and
                        "sessions go on" in l, what="the store warning")
    warnings = [l for l in ctx.relay.lines() if "evidence: cannot" in l]
    ctx.check(len(warnings) == 1, "warnings: %r" % warnings)


def unwritable(settings):
    settings["state_dir"] = "/proc/tlsrelay-register"


CASE = Case(
    "register: unwritable state_dir -> sessions go on, one warning",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=unwritable,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1"},
)
