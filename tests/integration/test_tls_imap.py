"""IMAP over TLS against the real service set: STARTTLS (imaplib and
`openssl s_client -starttls imap`), implicit TLS on an ssl = yes listener
(imaps), mbsync over both, plaintext pipelined after STARTTLS dropped,
and bad TLS input (garbage handshake, truncated record, renegotiation)
closing only that connection while other sessions go on. A CA and a
server certificate are made with openssl for the run."""

import imaplib
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import unittest

from stratus_harness import main
from tls_harness import TlsTestCase, closed_soon

USER, PASS = "user1@example.com", "pass1"


class TlsImapTest(TlsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = cls.stratus.ports["imap"]
        cls.imaps = cls.stratus.ports_tls["imaps"]

    def test_starttls_advertised_then_login(self):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        self.assertIn("STARTTLS", c.capabilities)
        c.starttls(ssl_context=self.ctx)
        self.assertEqual(c.sock.version()[:5], "TLSv1")
        # no STARTTLS once in TLS
        typ, data = c.capability()
        self.assertNotIn(b"STARTTLS", data[0].split())
        typ, _ = c.login(USER, PASS)
        self.assertEqual(typ, "OK")
        typ, _ = c.select("INBOX")
        self.assertEqual(typ, "OK")
        typ, _ = c.noop()
        self.assertEqual(typ, "OK")
        c.logout()

    def test_starttls_twice_is_refused(self):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        c.starttls(ssl_context=self.ctx)
        tag = c._new_tag()
        c.send(tag + b" STARTTLS\r\n")
        line = c.readline()
        self.assertTrue(line.startswith(tag + b" BAD"), line)
        c.logout()

    def test_imaps_implicit_tls(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx, timeout=10)
        self.assertNotIn("STARTTLS", c.capabilities)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        c.login(USER, PASS)
        c.select("INBOX")
        c.logout()

    def test_openssl_s_client_starttls(self):
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "imap", "-connect", "127.0.0.1:%d" % self.port,
             "-CAfile", self.ca, "-verify_return_error", "-verify_hostname", "localhost",
             "-quiet", "-ign_eof"],
            input=("a LOGIN %s %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n" % (USER, PASS)).encode(),
            capture_output=True, timeout=30)
        out = r.stdout.decode("latin-1")
        self.assertIn("a OK", out, out + r.stderr.decode("latin-1"))
        self.assertIn("b OK", out)
        self.assertIn("c OK", out)

    def test_large_literal_over_tls(self):
        # APPEND and FETCH of 300 KB: many TLS records, pending bytes
        # inside OpenSSL read without another EPOLLIN.
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx, timeout=20)
        c.login(USER, PASS)
        body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 300
        typ, _ = c.append("INBOX", None, None, body)
        self.assertEqual(typ, "OK")
        c.select("INBOX")
        typ, data = c.search(None, "SUBJECT", "big")
        num = data[0].split()[-1]
        typ, data = c.fetch(num, "(BODY.PEEK[])")
        self.assertEqual(data[0][1], body)
        # many commands in one TLS write: all answered
        tags = []
        batch = b""
        for i in range(200):
            t = b"p%d" % i
            tags.append(t)
            batch += t + b" NOOP\r\n"
        c.send(batch)
        seen = set()
        while len(seen) < len(tags):
            line = c.readline()
            self.assertTrue(line, "connection closed")
            tag = line.split(b" ", 1)[0]
            if tag in tags:
                self.assertIn(b" OK", line)
                seen.add(tag)
        c.logout()

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        # one segment: STARTTLS and an injected command behind it
        s.sendall(b"a STARTTLS\r\nb LOGIN %s %s\r\n" % (USER.encode(), PASS.encode()))
        self.assertTrue(f.readline().startswith(b"a OK"))
        t = self.ctx.wrap_socket(s, server_hostname="localhost")
        tf = t.makefile("rb")
        t.sendall(b"c CAPABILITY\r\n")
        first = tf.readline()
        # the injected LOGIN never ran: no "b" reply, still not logged in
        self.assertTrue(first.startswith(b"* CAPABILITY"), first)
        self.assertIn(b"AUTH=PLAIN", first)
        self.assertTrue(tf.readline().startswith(b"c OK"))
        t.sendall(b"d SELECT INBOX\r\n")
        self.assertIn(b"d BAD", tf.readline())
        t.close()

    def assert_others_keep_working(self, session):
        typ, _ = session.noop()
        self.assertEqual(typ, "OK")
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx, timeout=10)
        c.login(USER, PASS)
        c.logout()

    def test_bad_tls_input_closes_only_that_connection(self):
        pid = self.stratus.pid_of("imap")
        session = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx, timeout=10)
        session.login(USER, PASS)
        session.select("INBOX")
        # garbage instead of a ClientHello on imaps
        s = socket.create_connection(("127.0.0.1", self.imaps), timeout=10)
        s.sendall(b"a LOGIN user pass\r\n" * 10)
        self.assertTrue(closed_soon(s))
        s.close()
        # garbage after STARTTLS
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a STARTTLS\r\n")
        self.assertTrue(f.readline().startswith(b"a OK"))
        s.sendall(b"\x16\x03\x01\x00\x05hello-this-is-no-tls" + os.urandom(200))
        self.assertTrue(closed_soon(s))
        s.close()
        self.assert_others_keep_working(session)
        # a truncated record: a header promising 1000 bytes, 10 sent, EOF
        raw = socket.create_connection(("127.0.0.1", self.imaps), timeout=10)
        t = self.ctx.wrap_socket(raw, server_hostname="localhost")
        t.recv(1024)  # the greeting
        inner = socket.socket(fileno=os.dup(t.fileno()))
        inner.sendall(struct.pack("!BHH", 23, 0x0303, 1000) + b"0123456789")
        inner.shutdown(socket.SHUT_WR)
        self.assertTrue(closed_soon(inner))
        inner.close()
        t.close()
        # a renegotiation request (TLS 1.2), refused
        r = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.imaps, "-tls1_2",
             "-CAfile", self.ca],
            input=b"R\na NOOP\n", capture_output=True, timeout=30)
        self.assertNotIn(b"a OK", r.stdout)
        self.assert_others_keep_working(session)
        session.logout()
        self.assertEqual(self.stratus.pid_of("imap"), pid)

    @unittest.skipUnless(shutil.which("mbsync"), "mbsync not installed")
    def test_mbsync_starttls_and_imaps(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=self.ctx, timeout=10)
        c.login(USER, PASS)
        c.append("INBOX", None, None, b"Subject: for mbsync\r\n\r\nhello\r\n")
        c.logout()
        for ssl_type, port in (("STARTTLS", self.port), ("IMAPS", self.imaps)):
            w = tempfile.mkdtemp(prefix="mbsync-")
            try:
                os.makedirs(os.path.join(w, "local"))
                rc = os.path.join(w, "mbsyncrc")
                with open(rc, "w") as f:
                    f.write(f"""IMAPAccount test
Host localhost
Port {port}
User {USER}
Pass {PASS}
SSLType {ssl_type}
CertificateFile {self.ca}

IMAPStore remote
Account test

MaildirStore local
Path {w}/local/
Inbox {w}/local/INBOX

Channel test
Far :remote:
Near :local:
Patterns INBOX
Create Near
SyncState *
""")
                r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr.decode("latin-1"))
                new = os.listdir(os.path.join(w, "local", "INBOX", "new")) + \
                    os.listdir(os.path.join(w, "local", "INBOX", "cur"))
                self.assertTrue(new, ssl_type)
            finally:
                shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
