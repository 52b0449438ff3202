"""An STLS upstream whose CAPA lacks STLS (but offers USER and SASL in the
clear, as bait): no credentials go up, the device gets -ERR [SYS/TEMP]."""

from harness.case import Case
from harness.pop3 import login_refused
from harness.relay import device


def client(ctx):
    login_refused(ctx, "SYS/TEMP")
    sent = ctx.pop3_fault.sent()
    ctx.check(sent == ["CAPA"], "relay sent %r to a plaintext upstream"
              % [l.split()[0] for l in sent])


CASE = Case(
    "upstream without STLS -> no credentials sent, upstream_tls_failed",
    client,
    protocols=("pop3",),
    upstream="nostls",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "upstream_tls_failed",
         "reason": "upstream does not offer STLS"},
)
