"""Test PKI made with the openssl CLI: a CA and the certificates the cases use.

Every key is RSA 2048 so that TLS 1.0 RSA key exchange suites work, but
the second LAN certificate's (ECDSA P-256).
"""

import datetime
import os

from .util import run, write_file


class PKI:
    """A test CA plus server certificates, all under dir.

    Attributes are (cert, key) paths: localhost (SAN DNS:localhost,
    IP:127.0.0.1, signed by the CA), wrongname (SAN DNS:wrong.example,
    signed by the CA), selfsigned (localhost, self-signed) and lan (the
    relay's LAN side; lan_ecdsa() makes its ECDSA twin). ca is the CA
    certificate path. client_certificate()
    makes client certificates on demand, also from untrusted_ca() (a
    second CA nothing trusts) and expired ones.
    """

    def __init__(self, dir):
        self.dir = dir
        os.makedirs(dir, mode=0o755, exist_ok=True)
        os.chmod(dir, 0o755)
        self.ca_key = os.path.join(dir, "ca.key")
        self.ca = os.path.join(dir, "ca.pem")
        self._make_ca()
        self.localhost = self._make_signed(
            "localhost", "localhost", "DNS:localhost,IP:127.0.0.1")
        self.wrongname = self._make_signed(
            "wrongname", "wrong.example", "DNS:wrong.example")
        self.selfsigned = self._make_self_signed(
            "selfsigned", "localhost", "DNS:localhost,IP:127.0.0.1")
        self.lan = self._make_signed(
            "lan", "relay.test", "DNS:relay.test,IP:127.0.0.1")

    def _path(self, name, ext):
        """Path of a file of this PKI."""
        return os.path.join(self.dir, name + ext)

    def _genkey(self, name, ecdsa=False):
        """Make an RSA 2048 (or ECDSA P-256) key readable by the service
        users."""
        key = self._path(name, ".key")
        if ecdsa:
            run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", key])
        else:
            run(["openssl", "genrsa", "-out", key, "2048"])
        # Postfix and Dovecot read keys as root; 0644 keeps the test simple
        # and the keys are throwaway.
        os.chmod(key, 0o644)
        return key

    def _make_ca(self):
        """Make the self-signed test CA."""
        self._genkey("ca")
        run(["openssl", "req", "-x509", "-new", "-key", self.ca_key,
             "-sha256", "-days", "400", "-subj", "/CN=tlsrelay test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-out", self.ca])

    def _make_signed(self, name, cn, san, ecdsa=False):
        """A server certificate for cn with SAN san, signed by the CA, with
        an RSA key (or an ECDSA one)."""
        key = self._genkey(name, ecdsa)
        csr = self._path(name, ".csr")
        cert = self._path(name, ".pem")
        usage = "digitalSignature" + ("" if ecdsa else ",keyEncipherment")
        ext = write_file(self._path(name, ".ext"),
                         "basicConstraints=CA:FALSE\n"
                         "keyUsage=critical,%s\n"
                         "extendedKeyUsage=serverAuth\n"
                         "subjectAltName=%s\n" % (usage, san))
        run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn,
             "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca,
             "-CAkey", self.ca_key, "-CAcreateserial", "-sha256",
             "-days", "400", "-extfile", ext, "-out", cert])
        return cert, key

    def _make_self_signed(self, name, cn, san):
        """A self-signed server certificate for cn."""
        key = self._genkey(name)
        cert = self._path(name, ".pem")
        run(["openssl", "req", "-x509", "-new", "-key", key, "-sha256",
             "-days", "400", "-subj", "/CN=" + cn,
             "-addext", "subjectAltName=" + san,
             "-addext", "extendedKeyUsage=serverAuth",
             "-out", cert])
        return cert, key

    def lan_ecdsa(self):
        """(cert, key) of a second LAN certificate for relay.test with an
        ECDSA P-256 key, signed by the CA; made on first use."""
        cert, key = self._path("lan-ecdsa", ".pem"), self._path("lan-ecdsa",
                                                               ".key")
        if not os.path.exists(cert):
            self._make_signed("lan-ecdsa", "relay.test",
                              "DNS:relay.test,IP:127.0.0.1", ecdsa=True)
        return cert, key

    def untrusted_ca(self):
        """(cert, key) of a second CA that no fixture trusts; made on
        first use."""
        cert, key = self._path("other-ca", ".pem"), self._path("other-ca",
                                                               ".key")
        if not os.path.exists(cert):
            self._genkey("other-ca")
            run(["openssl", "req", "-x509", "-new", "-key", key, "-sha256",
                 "-days", "400", "-subj", "/CN=tlsrelay untrusted test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-out", cert])
        return cert, key

    def client_certificate(self, name, cn, san=None, ca=None, days=400,
                           expired=False):
        """(cert, key) of a client certificate for cn with SAN san
        (default DNS:cn; "" for none), EKU clientAuth and serverAuth (a
        connector certificate is often the server's own), signed by the
        test CA or by ca, a (cert, key) pair such as untrusted_ca().
        Valid from an hour ago for days days, or, if expired, from 20
        days ago until yesterday. Made on first use, cached by name.

        Signed with `openssl ca`, whose -startdate/-enddate can backdate
        (Debian 12's `openssl x509` cannot).
        """
        cert = self._path(name, ".pem")
        if os.path.exists(cert):
            return cert, self._path(name, ".key")
        key = self._genkey(name)
        os.chmod(key, 0o600)		# only the relay (root) reads it
        csr = self._path(name, ".csr")
        run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn,
             "-out", csr])
        san = "DNS:" + cn if san is None else san
        ext = write_file(self._path(name, ".ext"),
                         "basicConstraints=CA:FALSE\n"
                         "keyUsage=critical,digitalSignature,keyEncipherment\n"
                         "extendedKeyUsage=clientAuth,serverAuth\n" +
                         ("subjectAltName=%s\n" % san if san else ""))
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = now - datetime.timedelta(hours=1), \
            now + datetime.timedelta(days=days)
        if expired:
            start, end = now - datetime.timedelta(days=20), \
                now - datetime.timedelta(days=1)
        db = os.path.join(self.dir, name + ".ca")
        os.makedirs(db, exist_ok=True)
        write_file(os.path.join(db, "index.txt"), "")
        write_file(os.path.join(db, "serial"), os.urandom(8).hex() + "\n")
        conf = write_file(os.path.join(db, "ca.cnf"),
                          "[ca]\ndefault_ca = test\n[test]\n"
                          "database = %s/index.txt\nserial = %s/serial\n"
                          "new_certs_dir = %s\ndefault_md = sha256\n"
                          "policy = any\nunique_subject = no\n"
                          "[any]\ncommonName = supplied\n" % (db, db, db))
        ca_cert, ca_key = ca or (self.ca, self.ca_key)
        stamp = "%Y%m%d%H%M%SZ"
        run(["openssl", "ca", "-batch", "-notext", "-config", conf,
             "-cert", ca_cert, "-keyfile", ca_key, "-in", csr,
             "-extfile", ext, "-startdate", start.strftime(stamp),
             "-enddate", end.strftime(stamp), "-out", cert])
        return cert, key
