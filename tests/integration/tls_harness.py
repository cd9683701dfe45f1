"""TLS test helpers: a CA and a server certificate made with the openssl
command for each run, a Stratus set with ssl settings and implicit-TLS
listeners (imaps, pop3s, lmtps, sieves), client contexts that verify
against the CA, and TlsTestCase, the set-up every test_tls_*.py shares."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile

from stratus_harness import Stratus, StratusTestCase, free_port


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d):
    """ca.pem / ca.key in d: a throwaway CA for this test run."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=Stratus Test CA",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    return os.path.join(d, "ca.pem")


def make_server_cert(d, name, cn="localhost"):
    """name.pem (leaf + CA chain) and name.key, signed by d's CA, valid for
    localhost and 127.0.0.1/192.0.2.1 (the netns test address)."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:192.0.2.1\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=" + cn, "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
            "-out", name + ".leaf", cwd=d)
    with open(os.path.join(d, name + ".pem"), "w") as out:
        for part in (name + ".leaf", "ca.pem"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def client_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    return ctx


class TlsStratus(Stratus):
    """A Stratus set with TLS: ssl settings, and imaps/pop3s listeners."""

    def __init__(self, extra="", address="127.0.0.1", ssl_mode="yes",
                 disable_plaintext_auth="yes", **kw):
        self.address = address
        d = kw.pop("cert_dir")
        self.cert_dir = d
        self.ca = os.path.join(d, "ca.pem")
        self.cert, self.key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
        self.ports_tls = {name: free_port() for name in ("imaps", "pop3s", "lmtps", "sieves")}
        tls = (f"ssl = {ssl_mode}\nssl_cert = <{self.cert}\nssl_key = <{self.key}\n"
               f"disable_plaintext_auth = {disable_plaintext_auth}\n")
        super().__init__(tls + extra, **kw)

    def render_config(self, protocols):
        text = super().render_config(protocols)
        for section, name in (("imap-login", "imaps"), ("pop3-login", "pop3s"),
                              ("lmtp", "lmtps"), ("managesieve-login", "sieves")):
            text = text.replace(
                "service %s {\n" % section,
                "service %s {\n  inet_listener %s {\n    address = %s\n"
                "    port = %d\n    ssl = yes\n  }\n" % (section, name, self.address,
                                                     self.ports_tls[name]))
        return text.replace("127.0.0.1", self.address)


def read_line(sock_file):
    line = sock_file.readline()
    return line.decode("latin-1")


def connect(port, address="127.0.0.1", source=None, timeout=10):
    s = socket.create_connection((address, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    return s


def closed_soon(s, timeout=10):
    """True when the server ends the connection (EOF, reset or a TLS
    alert) within timeout; False when it is still open."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(4096):
                return True
    except (ConnectionResetError, ssl.SSLError):
        return True
    except socket.timeout:
        return False


class TlsTestCase(StratusTestCase):
    """One TLS service set per test class: a fresh CA and server
    certificate in a temporary folder, TlsStratus(**tls_options), and a
    client context (cls.ctx) that verifies against that CA. A class whose
    services printed a sanitizer report fails (StratusTestCase)."""

    tls_options = {}

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="stratus-tls-")
        cls.ca = make_ca(cls.certs)
        make_server_cert(cls.certs, "server")
        cls.stratus = TlsStratus(cert_dir=cls.certs, **cls.tls_options).start()
        cls.ctx = client_context(cls.ca)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.certs, ignore_errors=True)


def sieve_session(sock):
    """A ManageSieve session (test_managesieve.Sieve's reader) on an
    already connected socket, plain or TLS; the greeting is read."""
    from test_managesieve import Sieve

    class TlsSieve(Sieve):
        def __init__(self, s):
            self.s = s
            self.s.settimeout(10)
            self.buf = b""
            self.greeting = self.response()

        def starttls(self, ctx):
            """STARTTLS and the handshake; returns the capabilities the
            server sends again inside TLS (status line, lines)."""
            st, _ = self.cmd("STARTTLS\r\n")
            if not st.startswith(b"OK"):
                raise AssertionError(st)
            self.s = ctx.wrap_socket(self.s, server_hostname="localhost")
            self.s.settimeout(10)
            return self.response()

    return TlsSieve(sock)
