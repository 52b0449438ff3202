"""An upstream that answers with something that is not an SMTP reply
(an HTTP status line): 454 at AUTH at once, nothing sent upstream."""

from harness.upstream_faults import auth_unavailable, smtp_fault_case


def client(ctx):
    s = auth_unavailable(ctx, "a garbage-greeting upstream (at once, not "
                         "by the upstream_timeout)", (0, 3))
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    sent = [text for transcript in ctx.fault.transcripts
            for direction, text in transcript if direction == "C"]
    ctx.check(sent == [], "the relay answered the garbage greeting with %r"
              % sent)


CASE = smtp_fault_case(
    "upstream greets with 'HTTP/1.1 400 Bad Request' -> 454 at AUTH, "
    "invalid reply",
    client,
    "garbage",
    reason=lambda v: "invalid reply" in v,
)
