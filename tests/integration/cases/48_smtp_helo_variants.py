"""HELO/EHLO as appliances send them: a bare host name, an IPv4 or IPv6
address literal, or no argument at all. Each is answered with 250, the
device logs in and its message is delivered; then it greets again in the
middle of the session (many devices say HELO before every message), which
the relay turns into an upstream RSET, and a second message is delivered.

The upstream must only ever see the relay's own name: Postfix writes the
HELO name it was given into its Received: header ("Received: from <helo>
(localhost [127.0.0.1]) by upstream.test ..."), so the topmost Received:
of every delivered message must name SERVER_NAME (set for this case, and
different from every device HELO argument) and none of the device's text.
A relay that passed "HELO printer" through would show "from printer";
one that passed a bare "HELO" would get a 501 from Postfix.
"""

from harness.case import Case
from harness.clients import b64, make_message
from harness.relay import device
from harness.steps import delivered_headers, raw_expect, raw_send_message

SERVER_NAME = "relay-48.example.test"

VARIANTS = [
    ("helo-bare-name", "HELO printer", "printer"),
    ("ehlo-ipv4-literal", "EHLO [192.0.2.7]", "192.0.2.7"),
    ("ehlo-ipv6-literal", "EHLO [IPv6:2001:db8::7]", "2001:db8::7"),
    ("helo-no-argument", "HELO", None),
    ("ehlo-no-argument", "EHLO", None),
]


def greet(ctx, c, command, what):
    """Send the HELO/EHLO line; check the relay's 250 reply."""
    lines = raw_expect(ctx, c, command, 250, what)
    if command.upper().startswith("HELO"):
        ctx.check(lines == ["250 " + SERVER_NAME], "%s: expected exactly "
                  "'250 %s', got %r" % (what, SERVER_NAME, lines))
    else:
        ctx.check(lines[0] == "250-" + SERVER_NAME and len(lines) > 1,
                  "%s: expected a multi-line reply starting '250-%s', got "
                  "%r" % (what, SERVER_NAME, lines))
    return lines


def check_received(ctx, tag, helo_arg, what):
    """The message carrying tag arrived once; its topmost Received: names
    the relay, not the device's HELO argument."""
    path = ctx.postfix.wait_message("id: %s\n" % tag, 20)
    ctx.check(path, "%s: message %s not delivered" % (what, tag))
    with open(path, "rb") as f:
        fields = delivered_headers(f.read())
    received = [v for n, v in fields if n == b"received"]
    ctx.check(received, "%s: no Received: header in %s" % (what, path))
    top = received[0].decode(errors="replace")
    ctx.check(top.startswith("from %s (" % SERVER_NAME),
              "%s: the upstream saw HELO name %r, expected the relay's "
              "server_name %s (Received: %s)"
              % (what, top.split(" ")[1] if " " in top else top,
                 SERVER_NAME, top))
    if helo_arg is not None:
        ctx.check(helo_arg not in top, "%s: the device's HELO text %r "
                  "reached the upstream (Received: %s)"
                  % (what, helo_arg, top))


def variant(ctx, name, command, helo_arg):
    """One session: greet, AUTH PLAIN, a message, greet again, a second
    message, QUIT; both messages checked in the maildir."""
    what = "%r" % command
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220 and lines[-1].startswith("220 " + SERVER_NAME),
              "%s: greeting %r" % (what, lines))
    lines = greet(ctx, c, command, what)
    if command.upper().startswith("EHLO"):
        ctx.check("250-AUTH PLAIN LOGIN" in lines,
                  "%s: AUTH not offered: %r" % (what, lines))
    ctx.secrets.add(ctx.password)
    raw_expect(ctx, c, "AUTH PLAIN " + b64("\0%s\0%s" % (ctx.user,
                                                         ctx.password)),
               235, "%s: AUTH PLAIN" % what)
    tags = ["%s-%s-%d" % (ctx.msgid, name, i) for i in (1, 2)]
    raw_send_message(ctx, c, make_message(tags[0]).encode(),
                     what="%s: first message" % what)
    greet(ctx, c, command, "%s again after a message" % what)
    raw_send_message(ctx, c, make_message(tags[1]).encode(),
                     what="%s: second message after greeting again" % what)
    raw_expect(ctx, c, "QUIT", 221, "%s: QUIT" % what)
    check_received(ctx, tags[0], helo_arg, what)
    check_received(ctx, tags[1], helo_arg, "%s (greeting repeated)" % what)


def client(ctx):
    for name, command, helo_arg in VARIANTS:
        ctx.check(helo_arg is None or helo_arg not in SERVER_NAME,
                  "test bug: HELO %r would match the relay's name" % helo_arg)
        variant(ctx, name, command, helo_arg)
    ended = ctx.relay.wait_sessions(len(VARIANTS), 10, event="end")
    ctx.check(len(ended) == len(VARIANTS) and
              all(f.get("result") == "ok" and f.get("messages") == "2"
                  for f in ended),
              "expected %d end lines with result=ok messages=2, got %r"
              % (len(VARIANTS), [(f.get("result"), f.get("messages"),
                                  f.get("reason")) for f in ended]))


def settings(s):
    s["server_name"] = SERVER_NAME


CASE = Case(
    "HELO name / [IPv4] / [IPv6:] / no argument -> 250, delivered twice; "
    "upstream sees only server_name",
    client,
    upstream="postfix",
    devices=[device("printer-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "2",
         "device": "printer-1"},
)
