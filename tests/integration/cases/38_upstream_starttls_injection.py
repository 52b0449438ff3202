"""Plaintext the upstream sends after its 220 to STARTTLS is discarded."""

from harness.case import Case
from harness.clients import make_message
from harness.relay import device
from harness.steps import ready_for_data


def client(ctx):
    # The forged "535" sits in the same TCP write as the upstream's 220: a
    # relay that read it as the answer to its AUTH would fail the login.
    s = ready_for_data(ctx)
    ctx.expect_code(s.data(make_message(ctx.msgid)), 250, "end of DATA")
    s.quit()
    ctx.check(ctx.fault.wait_event("tls_ok") is not None,
              "the upstream TLS handshake did not complete")
    ctx.check(ctx.fault.wait_event("message:") is not None,
              "the message never reached the upstream")


CASE = Case(
    "bytes after the upstream's STARTTLS 220 are discarded before TLS",
    client,
    upstream="inject_starttls",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=1,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
