"""An upstream refusal that is not about the password: [IN-USE] reaches
the device as [IN-USE], result=upstream_error."""

from harness.case import Case
from harness.pop3 import login_refused
from harness.relay import device


def client(ctx):
    login_refused(ctx, "IN-USE")


CASE = Case(
    "upstream PASS -> -ERR [IN-USE]: device gets [IN-USE], upstream_error",
    client,
    protocols=("pop3",),
    upstream="inuse",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "upstream_error",
         "reason": lambda v: "IN-USE" in v},
)
