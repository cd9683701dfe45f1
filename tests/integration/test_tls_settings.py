"""The TLS settings beyond certificate and key, against the real service
set with a CA made by the openssl command for the run (issue 19):

- ssl_key_password: the server key is an AES-encrypted PEM; the services
  start with the password and serve TLS.
- ssl_ca + ssl_verify_client_cert (ssl_require_crl left at its default,
  yes, so ssl_ca carries the CA's CRL): a client certificate of our CA
  logs in over imaps and STARTTLS (Python ssl); one from another CA and a
  revoked one end the handshake (Python ssl, openssl s_client); without a
  certificate the handshake succeeds and auth_ssl_require_client_cert =
  yes makes svc-auth refuse the login (IMAP, POP3, ManageSieve; also on
  plaintext loopback, where disable_plaintext_auth = no would allow it).
- ssl_dh: 3072-bit DH parameters (RFC 7919 ffdhe3072, made by openssl
  genpkey) are what a TLS 1.2 DHE client gets, where OpenSSL's own choice
  for this 2048-bit RSA key would be 2048 bits.
- verbose_ssl: the handshake's start and end with the client certificate,
  a refused certificate and why, and a garbage handshake's OpenSSL reason
  are in the log.
"""

import imaplib
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from stratus_harness import main
from tls_harness import TlsStratus, closed_soon, openssl, sieve_session

USER, PASS = "user1@example.com", "pass1"
KEY_PASSWORD = "Key pass 19"

CA_CNF = """[ca]
default_ca = test_ca
[test_ca]
dir = {d}
database = {d}/index.txt
crlnumber = {d}/crlnumber
certificate = {d}/ca.pem
private_key = {d}/ca.key
default_md = sha256
default_crl_days = 2
"""


def make_rsa_ca(d, prefix="ca", cn="Stratus Test CA"):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
            "-keyout", prefix + ".key", "-out", prefix + ".pem", cwd=d)


def make_leaf(d, name, ca, usage, san=None):
    """name.pem / name.key (RSA) signed by CA `ca` (ca.pem/ca.key)."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("extendedKeyUsage=%s\n" % usage)
        if san:
            f.write("subjectAltName=%s\n" % san)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)


def make_pki(d):
    """Our CA (ca.*) with a CRL revoking `revoked`, a server certificate
    whose key is encrypted, client certificates `client1` and `revoked`,
    a foreign CA's `stranger`, and ffdhe3072 parameters."""
    make_rsa_ca(d)
    make_rsa_ca(d, "other", "Some Other CA")
    make_leaf(d, "server", "ca", "serverAuth", "DNS:localhost,IP:127.0.0.1")
    openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:" + KEY_PASSWORD,
            "-out", "server-enc.key", cwd=d)
    for name in ("client1", "revoked"):
        make_leaf(d, name, "ca", "clientAuth")
    make_leaf(d, "stranger", "other", "clientAuth")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("01\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(CA_CNF.format(d=d))
    openssl("ca", "-config", "ca.cnf", "-revoke", "revoked.pem", cwd=d)
    openssl("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem", cwd=d)
    with open(os.path.join(d, "ca+crl.pem"), "w") as out:
        for part in ("ca.pem", "crl.pem"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())
    openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe3072",
            "-out", "dh.pem", cwd=d)


class TlsSettingsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp(prefix="stratus-tls-settings-")
        make_pki(cls.d)
        d = cls.d
        extra = (f"ssl_key = <{d}/server-enc.key\n"
                 f"ssl_key_password = {KEY_PASSWORD}\n"
                 f"ssl_ca = <{d}/ca+crl.pem\n"
                 "ssl_verify_client_cert = yes\n"
                 f"ssl_dh = <{d}/dh.pem\n"
                 "verbose_ssl = yes\n"
                 "auth_ssl_require_client_cert = yes\n"
                 f"ssl_client_ca_file = {d}/ca.pem\n"
                 f"ssl_client_ca_dir = {d}\n")
        cls.stratus = TlsStratus(extra, cert_dir=d)
        cls.stratus.start()
        cls.imaps = cls.stratus.ports_tls["imaps"]

    @classmethod
    def tearDownClass(cls):
        try:
            text = cls.stratus.cleanup()
            from stratus_harness import SANITIZER_RE
            m = SANITIZER_RE.search(text)
            if m:
                raise AssertionError("sanitizer report:\n" + text[m.start():m.start() + 4000])
        finally:
            shutil.rmtree(cls.d, ignore_errors=True)

    def ctx(self, client=None):
        ctx = ssl.create_default_context(cafile=os.path.join(self.d, "ca.pem"))
        if client is not None:
            ctx.load_cert_chain(os.path.join(self.d, client + ".pem"),
                                os.path.join(self.d, client + ".key"))
        return ctx

    def login_imaps(self, client):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx(client), timeout=10)
        typ, _ = c.login(USER, PASS)
        c.logout()
        return typ

    def refused(self, client):
        """True when the server ends a TLS session made with client's
        certificate before any IMAP greeting (a TLS 1.3 client learns
        of the refusal at its first read)."""
        s = socket.create_connection(("127.0.0.1", self.imaps), timeout=10)
        try:
            t = self.ctx(client).wrap_socket(s, server_hostname="localhost")
        except (ssl.SSLError, ConnectionResetError):
            s.close()
            return True
        try:
            return t.recv(4096) == b""
        except (ssl.SSLError, ConnectionResetError):
            return True
        finally:
            t.close()

    def test_ssl_client_ca_warning_says_why(self):
        # outgoing TLS only: the warning says which connections Stratus
        # makes and what they trust, not "not implemented yet"
        log = self.stratus.read_log()
        for key in ("ssl_client_ca_file", "ssl_client_ca_dir"):
            self.assertRegex(log, r"imap: Warning: [^\n]*: setting %s has no effect: "
                             r"[^\n]*connects out over TLS; Stratus's only such "
                             r"connections are svc-blob's HTTPS to object storage, "
                             r"which trusts the system's CA store" % key)
            self.assertNotRegex(log, r"setting %s is accepted but not implemented" % key)

    def test_client_certificate_of_our_ca_logs_in(self):
        mark = len(self.stratus.read_log())
        self.assertEqual(self.login_imaps("client1"), "OK")
        self.stratus.wait_log(r"SSL: handshake done \[127\.0\.0\.1\]: TLSv1\.3 \S+, client "
                              r"certificate: /CN=client1 \(valid\)", start_at=mark)

    def test_client_certificate_over_starttls(self):
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
        c.starttls(ssl_context=self.ctx("client1"))
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()

    def test_no_client_certificate_gets_tls_but_no_login(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx(None), timeout=10)
        with self.assertRaises(imaplib.IMAP4.error):
            c.login(USER, PASS)
        c.logout()
        plain = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
        with self.assertRaises(imaplib.IMAP4.error):
            plain.login(USER, PASS)
        plain.logout()
        self.stratus.wait_log(r"client didn't present a valid SSL certificate")

    def test_pop3_stls_with_and_without_a_certificate(self):
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)
        p.stls(context=self.ctx("client1"))
        p.user(USER)
        p.pass_(PASS)
        p.quit()
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)
        p.stls(context=self.ctx(None))
        p.user(USER)
        with self.assertRaises(poplib.error_proto):
            p.pass_(PASS)
        p.quit()

    def test_managesieve_with_and_without_a_certificate(self):
        for client, ok in (("client1", True), (None, False)):
            c = sieve_session(socket.create_connection(
                ("127.0.0.1", self.stratus.ports["sieve"]), timeout=10))
            c.starttls(self.ctx(client))
            self.assertEqual(c.login().startswith(b"OK"), ok, client)
            c.close()

    def test_certificate_of_another_ca_is_refused(self):
        mark = len(self.stratus.read_log())
        self.assertTrue(self.refused("stranger"))
        self.stratus.wait_log(r"SSL: invalid client certificate \[127\.0\.0\.1\]: "
                              r"/CN=stranger: unable to get local issuer certificate",
                              start_at=mark)

    def test_revoked_certificate_is_refused(self):
        mark = len(self.stratus.read_log())
        self.assertTrue(self.refused("revoked"))
        self.stratus.wait_log(r"SSL: invalid client certificate \[127\.0\.0\.1\]: "
                              r"/CN=revoked: certificate revoked", start_at=mark)

    def test_openssl_s_client_with_and_without_a_good_certificate(self):
        def run(*cert):
            return subprocess.run(
                ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.imaps,
                 "-CAfile", os.path.join(self.d, "ca.pem"), "-quiet", "-ign_eof", *cert],
                input=("a LOGIN %s %s\r\nb LOGOUT\r\n" % (USER, PASS)).encode(),
                capture_output=True, timeout=30).stdout.decode("latin-1")
        good = run("-cert", os.path.join(self.d, "client1.pem"),
                   "-key", os.path.join(self.d, "client1.key"))
        self.assertIn("a OK", good)
        bad = run("-cert", os.path.join(self.d, "stranger.pem"),
                  "-key", os.path.join(self.d, "stranger.key"))
        self.assertNotIn("a OK", bad)

    def test_dhe_uses_the_configured_parameters(self):
        r = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.imaps, "-tls1_2",
             "-cipher", "DHE-RSA-AES128-GCM-SHA256", "-CAfile", os.path.join(self.d, "ca.pem"),
             "-cert", os.path.join(self.d, "client1.pem"),
             "-key", os.path.join(self.d, "client1.key")],
            input=b"a LOGOUT\r\n", capture_output=True, timeout=30)
        out = r.stdout.decode("latin-1")
        self.assertIn("Cipher is DHE-RSA-AES128-GCM-SHA256", out, out + r.stderr.decode())
        self.assertRegex(out, r"Server Temp Key: DH, 3072 bits")

    def test_garbage_handshake_is_logged_with_its_reason(self):
        mark = len(self.stratus.read_log())
        s = socket.create_connection(("127.0.0.1", self.imaps), timeout=10)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        self.assertTrue(closed_soon(s))
        s.close()
        self.stratus.wait_log(r"SSL: handshake failed \[127\.0\.0\.1\]: error:\S+:SSL "
                              r"routines::", start_at=mark)


if __name__ == "__main__":
    main()
