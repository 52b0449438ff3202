"""Two LAN certificates: with lan_tls.ecdsa_certificate beside the RSA
certificate, a TLS 1.0 device that offers only ECDHE-ECDSA suites is
given the ECDSA one and a device that offers only RSA suites the RSA one;
both deliver through Postfix. At start the ECDSA certificate's expiry is
logged as credential lan_ecdsa_certificate, and tlsrelayd -t prints it.
tlsrelayd -t refuses (exit 1, naming the file) an ecdsa_certificate
without an ECDSA key, and an ECDSA certificate as both."""

import ssl

from harness import clients
from harness.case import Case
from harness.expiry import cert_expires, check_credential_line, \
    check_mode_line, days_left
from harness.relay import device


def leaf_der(pem_file):
    """The certificate in a one-certificate PEM file, as DER."""
    with open(pem_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def deliver(ctx, suites, want_cert, msgid):
    """A TLS 1.0 SMTPS session offering only suites: the relay presents
    want_cert, and the message goes through."""
    tls = clients.legacy_context()
    tls.set_ciphers(suites + ":@SECLEVEL=0")
    s, greeting = clients.smtp_connect(ctx.port("smtps"), implicit_ctx=tls)
    ctx._open.append(s)
    ctx.expect_code(greeting, 220, "greeting offering %s" % suites)
    ctx.check(s.sock.cipher()[0] == suites, "negotiated %s, offered only %s"
              % (s.sock.cipher()[0], suites))
    ctx.check(s.sock.getpeercert(binary_form=True) == leaf_der(want_cert),
              "offering %s, the relay did not present %s" % (suites,
                                                             want_cert))
    ctx.ehlo(s)
    ctx.expect_code(clients.auth_plain(s, ctx.user, ctx.password), 235,
                    "AUTH PLAIN")
    ctx.send(s, msgid)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


def check_refused(ctx, lan_tls, file, error):
    """tlsrelayd -t with these lan_tls settings: exit 1, and an error
    naming file and saying error."""
    saved = dict(ctx.relay.settings["lan_tls"])
    ctx.relay.settings["lan_tls"].update(lan_tls)
    ctx.relay.write_config()
    status, out = ctx.relay.run_check()
    ctx.note("-t with %r (exit %d):\n%s" % (lan_tls, status, out))
    ctx.check(status == 1, "-t with %r exited %d, expected 1" % (lan_tls,
                                                                 status))
    ctx.check(any(file in l and error in l for l in out.splitlines()),
              "no error naming %s with %r in %r" % (file, error, out))
    ctx.relay.settings["lan_tls"] = saved


def client(ctx):
    rsa_cert, rsa_key = (ctx.relay.settings["lan_tls"][k]
                         for k in ("certificate", "key"))
    ecdsa_cert, ecdsa_key = ctx.pki.lan_ecdsa()
    check_refused(ctx, {"ecdsa_certificate": rsa_cert,
                        "ecdsa_key": rsa_key}, rsa_cert, "has no ECDSA key")
    check_refused(ctx, {"certificate": ecdsa_cert, "key": ecdsa_key,
                        "ecdsa_certificate": ecdsa_cert,
                        "ecdsa_key": ecdsa_key}, ecdsa_cert,
                  "has an ECDSA key like ecdsa_certificate")
    ctx.relay.settings["lan_tls"].update(ecdsa_certificate=ecdsa_cert,
                                         ecdsa_key=ecdsa_key)
    ctx.relay.write_config()
    date = cert_expires(ecdsa_cert)
    check_mode_line(ctx, "lan_ecdsa_certificate", ecdsa_cert, date,
                    days_left(date))
    ctx.relay.start()
    check_credential_line(ctx, "credential", "lan_ecdsa_certificate",
                          "info", days_left(date), date, ecdsa_cert)
    deliver(ctx, "ECDHE-ECDSA-AES128-SHA", ecdsa_cert, ctx.msgid)
    rsa_msgid = ctx.msgid + "-rsa"
    deliver(ctx, "ECDHE-RSA-AES128-SHA", rsa_cert, rsa_msgid)
    ctx.check(ctx.postfix.wait_message(rsa_msgid, 20),
              "the RSA session's message was not delivered")


CASE = Case(
    "lan_tls.ecdsa_certificate beside the RSA one: ECDSA-only device gets "
    "it, RSA-only device the RSA one, both delivered; its expiry is logged",
    client,
    upstream="postfix",
    devices=[device("mfp-ec", "127.0.0.1")],
    delivered=True,
    start=False,
)
