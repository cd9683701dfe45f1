"""TLS test helpers: a CA and a server certificate made with the openssl
command for each run, a Stratus set with ssl settings and implicit-TLS
listeners (imaps, pop3s), and client contexts that verify against the CA."""

import os
import socket
import ssl
import subprocess

from stratus_harness import Stratus, free_port


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
        self.ports_tls = {"imaps": free_port(), "pop3s": free_port()}
        tls = (f"ssl = {ssl_mode}\nssl_cert = <{self.cert}\nssl_key = <{self.key}\n"
               f"disable_plaintext_auth = {disable_plaintext_auth}\n")
        super().__init__(tls + extra, **kw)

    def render_config(self, protocols):
        text = super().render_config(protocols)
        text = text.replace(
            "service imap-login {\n",
            "service imap-login {\n  inet_listener imaps {\n    address = %s\n"
            "    port = %d\n    ssl = yes\n  }\n" % (self.address, self.ports_tls["imaps"]))
        text = text.replace(
            "service pop3-login {\n",
            "service pop3-login {\n  inet_listener pop3s {\n    address = %s\n"
            "    port = %d\n    ssl = yes\n  }\n" % (self.address, self.ports_tls["pop3s"]))
        return text.replace("127.0.0.1", self.address)


def read_line(sock_file):
    line = sock_file.readline()
    return line.decode("latin-1")


def connect(port, address="127.0.0.1", source=None, timeout=10):
    s = socket.create_connection((address, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    return s
