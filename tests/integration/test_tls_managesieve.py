"""ManageSieve over TLS against the real service set (RFC 5804 2.2):
STARTTLS offered with a certificate loaded, the capabilities sent again
inside TLS (without STARTTLS), AUTHENTICATE and scripts over TLS, the
plaintext pipelined behind STARTTLS dropped, `openssl s_client -starttls
sieve`, sieve-connect over STARTTLS, a listener with ssl = yes, bad TLS
input closing only that connection, and SIGHUP loading a renewed
certificate. (Plaintext SASL
refused before TLS is tested from a non-loopback address in
test_tls_nonloopback.py: loopback counts as secured.)"""

import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import unittest

from stratus_harness import main
from tls_harness import TlsTestCase, closed_soon, make_server_cert, sieve_session

USER, PASS = "user1@example.com", "pass1"
PLAIN = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASS.encode()).decode()


class TlsManageSieveTest(TlsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = cls.stratus.ports["sieve"]
        cls.sieves = cls.stratus.ports_tls["sieves"]

    def session(self, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=10)
        self.addCleanup(s.close)
        c = sieve_session(s)
        self.addCleanup(c.close)  # the TLS socket, after STARTTLS
        return c

    def tls_session(self):
        s = socket.create_connection(("127.0.0.1", self.sieves), timeout=10)
        t = self.ctx.wrap_socket(s, server_hostname="localhost")
        self.addCleanup(t.close)
        return sieve_session(t)

    def test_starttls_capabilities_again_then_scripts(self):
        c = self.session()
        st, caps = c.greeting
        self.assertIn(b'"STARTTLS"', caps)
        # loopback counts as secured: plaintext SASL is offered here
        self.assertIn(b'"SASL" "PLAIN LOGIN"', caps)
        st, caps = c.starttls(self.ctx)
        self.assertTrue(st.startswith(b"OK"), st)
        self.assertNotIn(b'"STARTTLS"', caps)
        self.assertIn(b'"SASL" "PLAIN LOGIN"', caps)
        self.assertTrue(any(line.startswith(b'"IMPLEMENTATION"') for line in caps), caps)
        self.assertEqual(c.s.version()[:5], "TLSv1")
        st, _ = c.cmd("STARTTLS\r\n")
        self.assertEqual(st, b'NO "TLS is already active."')
        self.assertTrue(c.login().startswith(b"OK"))
        st, _ = c.put("over-tls", "keep;")
        self.assertTrue(st.startswith(b"OK"), st)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"OK"))
        self.assertIn(b'"over-tls"', lines)
        st, lines = c.cmd('GETSCRIPT "over-tls"\r\n')
        self.assertEqual(lines, [b"keep;"])
        self.assertTrue(c.cmd("LOGOUT\r\n")[0].startswith(b"OK"))

    def test_starttls_after_login_refused(self):
        c = self.session()
        self.assertTrue(c.login().startswith(b"OK"))
        st, caps = c.cmd("CAPABILITY\r\n")
        self.assertNotIn(b'"STARTTLS"', caps)
        st, _ = c.cmd("STARTTLS\r\n")
        self.assertEqual(st, b'NO "Already authenticated."')

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        c = self.session()
        c.s.sendall(b'STARTTLS\r\nAUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN.encode())
        st, _ = c.response()
        self.assertTrue(st.startswith(b"OK"), st)
        c.s = self.ctx.wrap_socket(c.s, server_hostname="localhost")
        st, caps = c.response()
        self.assertTrue(st.startswith(b"OK"), st)
        # the injected AUTHENTICATE never ran
        st, _ = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(st, b'NO "Not authenticated."')

    def test_starttls_with_arguments_refused(self):
        c = self.session()
        st, _ = c.cmd('STARTTLS "now"\r\n')
        self.assertEqual(st, b'NO "Invalid arguments."')
        self.assertTrue(c.starttls(self.ctx)[0].startswith(b"OK"))

    def test_openssl_s_client_starttls_sieve(self):
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "sieve", "-connect", "127.0.0.1:%d" % self.port,
             "-CAfile", self.ca, "-verify_return_error", "-verify_hostname", "localhost",
             "-quiet", "-ign_eof"],
            input=('AUTHENTICATE "PLAIN" "%s"\r\nLISTSCRIPTS\r\nLOGOUT\r\n' % PLAIN).encode(),
            capture_output=True, timeout=30)
        out = r.stdout.decode("latin-1")
        self.assertIn('OK "Logged in."', out, out + r.stderr.decode("latin-1"))
        self.assertIn('OK "Logout completed."', out)

    @unittest.skipUnless(shutil.which("sieve-connect"), "sieve-connect not installed")
    def test_sieve_connect_over_starttls(self):
        w = tempfile.mkdtemp(prefix="sieve-connect-")
        self.addCleanup(shutil.rmtree, w, True)
        local = os.path.join(w, "tls.sieve")
        with open(local, "w") as f:
            f.write("keep;\n")

        def sc(*args):
            r, wfd = os.pipe()
            os.write(wfd, PASS.encode() + b"\n")
            os.close(wfd)
            try:
                # no --clearchan: STARTTLS, the certificate checked
                # against the test CA for the name localhost
                return subprocess.run(
                    ["sieve-connect", "--nosrv", "-s", "localhost", "-p", str(self.port),
                     "-u", USER, "--passwordfd", str(r), "--authmech", "PLAIN",
                     "--tlscafile", self.ca, "--noclearauth", "--debug", *args],
                    capture_output=True, text=True, timeout=30, pass_fds=(r,))
            finally:
                os.close(r)

        r = sc("--upload", "--localsieve", local, "--remotesieve", "via-sieve-connect")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout + r.stderr, r"(?i)starttls")
        r = sc("--list")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("via-sieve-connect", r.stdout)

    def test_sieves_implicit_tls(self):
        c = self.tls_session()
        st, caps = c.greeting
        self.assertTrue(st.startswith(b"OK"), st)
        self.assertNotIn(b'"STARTTLS"', caps)
        self.assertTrue(c.login().startswith(b"OK"))
        # a script of many TLS records in one literal
        script = "# " + "z" * 200000 + "\r\nkeep;\r\n"
        st, _ = c.put("big", script)
        self.assertTrue(st.startswith(b"OK"), st)
        st, lines = c.cmd('GETSCRIPT "big"\r\n')
        self.assertEqual(lines, [script.encode()])

    def test_bad_tls_input_closes_only_that_connection(self):
        pid = self.stratus.pid_of("managesieve")
        kept = self.tls_session()
        self.assertTrue(kept.login().startswith(b"OK"))
        s = socket.create_connection(("127.0.0.1", self.sieves), timeout=10)
        s.sendall(b"LOGOUT\r\n" * 20)
        self.assertTrue(closed_soon(s))
        s.close()
        c = self.session()
        self.assertTrue(c.cmd("STARTTLS\r\n")[0].startswith(b"OK"))
        c.s.sendall(b"\x16\x03\x01\x00\x05not-a-client-hello" + os.urandom(300))
        self.assertTrue(closed_soon(c.s))
        t = self.tls_session()
        inner = socket.socket(fileno=os.dup(t.s.fileno()))
        inner.sendall(struct.pack("!BHH", 23, 0x0303, 1000) + b"0123456789")
        inner.shutdown(socket.SHUT_WR)
        self.assertTrue(closed_soon(inner))
        inner.close()
        st, _ = kept.cmd('NOOP "alive"\r\n')
        self.assertEqual(st, b'OK (TAG "alive") "Done"')
        self.assertEqual(self.stratus.pid_of("managesieve"), pid)

    def test_sighup_reloads_certificate(self):
        old = self.tls_session()
        old_serial = old.s.getpeercert()["serialNumber"]
        make_server_cert(self.certs, "server")
        at = len(self.stratus.read_log())
        os.kill(self.stratus.pid_of("managesieve"), signal.SIGHUP)
        self.stratus.wait_log(r"managesieve.*reload: TLS certificate loaded", start_at=at)
        new = self.session()
        new.starttls(self.ctx)
        self.assertNotEqual(new.s.getpeercert()["serialNumber"], old_serial)
        self.assertTrue(old.login().startswith(b"OK"))

    def test_no_tls_not_implemented_warning(self):
        self.assertNotIn("TLS is not implemented", self.stratus.read_log())


if __name__ == "__main__":
    main()
