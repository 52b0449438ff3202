"""Test PKI made with the openssl CLI: a CA and the certificates the cases use.

Every key is RSA 2048 so that TLS 1.0 RSA key exchange suites work.
"""

import os

from .util import run, write_file


class PKI:
    """A test CA plus server certificates, all under dir.

    Attributes are (cert, key) paths: localhost (SAN DNS:localhost,
    IP:127.0.0.1, signed by the CA), wrongname (SAN DNS:wrong.example,
    signed by the CA), selfsigned (localhost, self-signed) and lan (the
    relay's LAN side). ca is the CA certificate path.
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

    def _genkey(self, name):
        """Make an RSA 2048 key readable by the service users."""
        key = self._path(name, ".key")
        run(["openssl", "genrsa", "-out", key, "2048"])
        # Postfix and Dovecot read keys as root; 0644 keeps the test simple
        # and the keys are throwaway.
        os.chmod(key, 0o644)
        return key

    def _make_ca(self):
        """Make the self-signed test CA."""
        self._genkey("ca")
        run(["openssl", "req", "-x509", "-new", "-key", self.ca_key,
             "-sha256", "-days", "30", "-subj", "/CN=tlsrelay test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-out", self.ca])

    def _make_signed(self, name, cn, san):
        """A server certificate for cn with SAN san, signed by the CA."""
        key = self._genkey(name)
        csr = self._path(name, ".csr")
        cert = self._path(name, ".pem")
        ext = write_file(self._path(name, ".ext"),
                         "basicConstraints=CA:FALSE\n"
                         "keyUsage=critical,digitalSignature,keyEncipherment\n"
                         "extendedKeyUsage=serverAuth\n"
                         "subjectAltName=%s\n" % san)
        run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn,
             "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca,
             "-CAkey", self.ca_key, "-CAcreateserial", "-sha256",
             "-days", "30", "-extfile", ext, "-out", cert])
        return cert, key

    def _make_self_signed(self, name, cn, san):
        """A self-signed server certificate for cn."""
        key = self._genkey(name)
        cert = self._path(name, ".pem")
        run(["openssl", "req", "-x509", "-new", "-key", key, "-sha256",
             "-days", "30", "-subj", "/CN=" + cn,
             "-addext", "subjectAltName=" + san,
             "-addext", "extendedKeyUsage=serverAuth",
             "-out", cert])
        return cert, key
