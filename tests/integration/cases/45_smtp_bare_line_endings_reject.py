"""smtp_bare_line_endings = "reject": a message with a bare LF or CR is
refused with 554 5.6.0 once its real end (CRLF.CRLF) arrives, and nothing
of it reaches the upstream, not even the part before the bare line ending
(Postfix 3.7 would otherwise take <LF>.<LF> as an end). Commands after the
refusal get 421; a clean message on a new connection is delivered, which
also shows the refused ones had their chance to arrive and did not.
"""

from harness.case import Case
from harness.relay import device
from harness.steps import ready_for_data

SEQUENCES = [("lf-dot-lf", b"\n.\n"), ("lf-dot-crlf", b"\n.\r\n"),
             ("cr-dot-crlf", b"\r.\r\n"), ("lone-lf", b"\nnext line")]


def login(ctx):
    """A logged-in SMTP client with its envelope sent, at DATA."""
    s = ready_for_data(ctx)
    ctx.expect_code(s.docmd("DATA"), 354, "DATA")
    return s


def refused(ctx, name, seq):
    """One message carrying seq: 554 5.6.0, then 421 to the next command."""
    tag = "%s-%s" % (ctx.msgid, name)
    s = login(ctx)
    s.send(b"Subject: bare " + tag.encode() + b"\r\n\r\nid: " +
           tag.encode() + b"\r\nbefore" + seq +
           b"MAIL FROM:<evil@example.test>\r\nafter\r\n.\r\n")
    code, text = s.getreply()
    ctx.check(code == 554 and text.startswith(b"5.6.0"),
              "%s: end of DATA got %d %r, expected 554 5.6.0" %
              (name, code, text))
    ctx.expect_code(s.docmd("NOOP"), 421, "NOOP after the refusal (%s)"
                    % name)
    s.close()
    return tag


def client(ctx):
    tags = [refused(ctx, name, seq) for name, seq in SEQUENCES]
    s = login(ctx)
    s.send(("Subject: clean %s\r\n\r\nid: %s-clean\r\nall CRLF\r\n.\r\n"
            % (ctx.msgid, ctx.msgid)).encode())
    ctx.expect_code(s.getreply(), 250, "end of DATA of a clean message")
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    ctx.check(ctx.postfix.wait_message("id: %s-clean" % ctx.msgid, 20),
              "the clean message was not delivered")
    for tag in tags:
        ctx.check(not ctx.postfix.find_message(tag),
                  "refused message %s reached the mailbox" % tag)
    rejected = ctx.relay.wait_sessions(
        len(SEQUENCES), event="message", result="rejected",
        reason="bare CR or LF in the message body "
               "(smtp_bare_line_endings reject)")
    ctx.check(len(rejected) == len(SEQUENCES), "%d message=rejected lines, "
              "expected %d" % (len(rejected), len(SEQUENCES)))


def settings(s):
    s["smtp_bare_line_endings"] = "reject"


CASE = Case(
    "smtp_bare_line_endings reject: 554 5.6.0, nothing goes upstream",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    log={"event": "end", "result": "protocol_error",
         "reason": "command after a refused message", "messages": "0"},
)
