"""SMTP smuggling: bare LF/CR end-of-data look-alikes never split a message.

Debian 12's Postfix (3.7) takes <LF>.<LF> as the end of DATA, so a relay
that passed the device's bare line endings through would let it smuggle a
second message past the relay. Each known sequence is sent inside one
message followed by a forged transaction: exactly that one message must
arrive, with the forged commands still inside its body.
"""

from harness.case import Case
from harness.relay import device
from harness.steps import ready_for_data

SEQUENCES = [("lf-dot-lf", b"\n.\n"), ("lf-dot-crlf", b"\n.\r\n"),
             ("cr-dot-crlf", b"\r.\r\n")]


def smuggle(ctx, name, seq):
    """One transaction whose body carries seq and a forged second one."""
    tag = "%s-%s" % (ctx.msgid, name)
    s = ready_for_data(ctx)
    ctx.expect_code(s.docmd("DATA"), 354, "DATA")
    body = (b"Subject: smuggling " + tag.encode() + b"\r\n\r\nid: " +
            tag.encode() + b"\r\nbefore" + seq +
            b"MAIL FROM:<evil@example.test>\r\n"
            b"RCPT TO:<inbox@example.test>\r\nDATA\r\n"
            b"Subject: SMUGGLED " + tag.encode() + b"\r\n\r\nsmuggled\r\n"
            b".\r\n")
    s.send(body)
    ctx.expect_code(s.getreply(), 250, "end of DATA (%s)" % name)
    ctx.expect_code(s.docmd("NOOP"), 250, "NOOP after DATA (%s): a reply "
                    "out of step means a smuggled transaction" % name)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    path = ctx.postfix.wait_message("id: " + tag, 20)
    ctx.check(path, "message %s not delivered" % name)
    found = ctx.postfix.find_message(tag)
    ctx.check(len(found) == 1, "%s: %d messages carry the id, expected 1"
              % (name, len(found)))
    with open(path, "rb") as f:
        text = f.read()
    ctx.check(b"SMUGGLED " + tag.encode() in text and
              b"\n.\nMAIL FROM:<evil@example.test>" in text,
              "%s: the forged transaction is not inside the one message"
              % name)


def client(ctx):
    for name, seq in SEQUENCES:
        smuggle(ctx, name, seq)


CASE = Case(
    "bare LF/CR end-of-data look-alikes stay inside one message (Postfix 3.7)",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
