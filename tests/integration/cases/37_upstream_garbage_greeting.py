"""An upstream that answers with something that is not an SMTP reply
(an HTTP status line): 454 at AUTH at once, nothing sent upstream."""

import time

from harness.case import Case
from harness.relay import device
from harness.steps import ctx_auth_plain


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    started = time.monotonic()
    reply = ctx_auth_plain(ctx, s)
    took = time.monotonic() - started
    text = ctx.expect_code(reply, 454, "AUTH with a garbage-greeting "
                           "upstream")
    ctx.check(text.startswith("4.7.0"), "AUTH reply %r is not 454 4.7.0"
              % text)
    ctx.check(took < 3, "454 took %.1f s: the bad greeting should fail at "
              "once, not by the upstream_timeout" % took)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    sent = [text for transcript in ctx.fault.transcripts
            for direction, text in transcript if direction == "C"]
    ctx.check(sent == [], "the relay answered the garbage greeting with %r"
              % sent)


CASE = Case(
    "upstream greets with 'HTTP/1.1 400 Bad Request' -> 454 at AUTH, "
    "invalid reply",
    client,
    upstream="garbage",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=1,
    log={"event": "end", "result": "upstream_error", "messages": "0",
         "device": "scanner-1",
         "reason": lambda v: "invalid reply" in v},
)
