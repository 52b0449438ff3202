"""curl pop3:// with --ssl-reqd (STLS) pinned to TLS 1.0, AUTH PLAIN and
LOGIN chosen through login options; APOP and, for a device without
plaintext_auth, a login without TLS fail."""

from harness.case import Case
from harness.pop3 import CURL_TLS10, check_message, curl
from harness.relay import device


def client(ctx):
    url = "pop3://127.0.0.1:%d/" % ctx.port("pop3")
    for n, mech in ((1, "PLAIN"), (3, "LOGIN"), (2, "+APOP")):
        status, data = curl(ctx, url + str(n), "--ssl-reqd",
                            "--login-options", "AUTH=" + mech, *CURL_TLS10)
        if mech == "+APOP":
            ctx.check(status != 0, "curl with APOP succeeded")
            continue
        ctx.check(status == 0, "curl STLS RETR %d (AUTH %s) failed"
                  % (n, mech))
        check_message(ctx, n - 1, data)
    status, _ = curl(ctx, url + "2")
    ctx.check(status != 0, "curl logged in without TLS (no plaintext_auth)")
    lines = ctx.relay.wait_sessions(4, event="end", protocol="pop3")
    ctx.check([l.get("lan_tls") for l in lines] == ["TLSv1"] * 3 + ["none"],
              "lan_tls= %r" % [l.get("lan_tls") for l in lines])
    ctx.check("user" not in lines[3], "credentials taken without TLS")


CASE = Case(
    "curl pop3:// STLS TLS 1.0: AUTH PLAIN, LOGIN; APOP, no-TLS refused",
    client,
    protocols=("pop3",),
    devices=[device("copier-1", "127.0.0.1", protocols=["pop3"])],
    needs=["curl"],
)
