"""LMTP over TLS against the real service set: STARTTLS as RFC 3207 says
for SMTP (offered in LHLO only with a certificate loaded, 220 2.0.0 then
the handshake, nothing the client said before it remembered, LHLO needed
again, plaintext pipelined behind STARTTLS dropped, 501 with arguments,
454 4.7.0 while no certificate is loaded), with Python's smtplib.LMTP
and `openssl s_client -starttls lmtp`; lmtps (an ssl = yes listener);
bad TLS input closing only that connection; SIGHUP certificate reload."""

import imaplib
import os
import re
import signal
import smtplib
import socket
import struct
import subprocess

from stratus_harness import main
from tls_harness import TlsTestCase, closed_soon, make_server_cert

USER, PASS = "user1@example.com", "pass1"


class Lmtp:
    """A raw LMTP session: one reply (all its lines) at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed")
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return lines

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()


class TlsLmtpTest(TlsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = cls.stratus.ports["lmtp"]
        cls.lmtps = cls.stratus.ports_tls["lmtps"]

    def raw(self, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=10)
        self.addCleanup(s.close)
        c = Lmtp(s)
        self.assertTrue(c.reply()[0].startswith(b"220 "))
        return c

    def starttls(self, c):
        self.assertEqual(c.cmd("STARTTLS")[0][:9], b"220 2.0.0")
        t = self.ctx.wrap_socket(c.sock, server_hostname="localhost")
        self.addCleanup(t.close)
        return Lmtp(t)

    def inbox_subjects(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.stratus.ports_tls["imaps"],
                              ssl_context=self.ctx, timeout=10)
        c.login(USER, PASS)
        c.select("INBOX", readonly=True)
        _, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        c.logout()
        return b"".join(d[1] for d in data if isinstance(d, tuple))

    def test_smtplib_starttls_then_delivery(self):
        c = smtplib.LMTP("127.0.0.1", self.port, timeout=10)
        self.addCleanup(c.close)
        code, _ = c.ehlo()
        self.assertEqual(code, 250)
        self.assertTrue(c.has_extn("starttls"))
        code, msg = c.starttls(context=self.ctx)
        self.assertEqual(code, 220, msg)
        self.assertTrue(msg.startswith(b"2.0.0"), msg)
        self.assertEqual(c.sock.version()[:5], "TLSv1")
        code, _ = c.ehlo()
        self.assertEqual(code, 250)
        self.assertFalse(c.has_extn("starttls"))
        self.assertTrue(c.has_extn("pipelining"))
        refused = c.sendmail("sender@example.org", [USER],
                             b"Subject: lmtp over tls\r\n\r\nsent inside TLS\r\n")
        self.assertEqual(refused, {})
        c.quit()
        self.assertIn(b"lmtp over tls", self.inbox_subjects())

    def test_state_reset_and_lhlo_required_after_starttls(self):
        c = self.raw()
        self.assertIn(b"250-STARTTLS", c.cmd("LHLO client.example"))
        t = self.starttls(c)
        # LHLO is forgotten: a transaction needs a new one
        self.assertEqual(t.cmd("MAIL FROM:<a@example.org>")[0],
                         b"503 5.5.1 Send LHLO first")
        lhlo = t.cmd("LHLO client.example")
        self.assertNotIn(b"250-STARTTLS", lhlo)
        self.assertEqual(t.cmd("MAIL FROM:<a@example.org>")[0], b"250 2.1.0 OK")
        self.assertEqual(t.cmd("STARTTLS")[0], b"503 5.5.1 TLS already active")
        self.assertEqual(t.cmd("QUIT")[0][:3], b"221")

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        c = self.raw()
        c.sock.sendall(b"LHLO a\r\nSTARTTLS\r\nLHLO b\r\nMAIL FROM:<injected@example.org>\r\n")
        self.assertIn(b"250-STARTTLS", c.reply())
        self.assertEqual(c.reply()[0][:9], b"220 2.0.0")
        t = Lmtp(self.ctx.wrap_socket(c.sock, server_hostname="localhost"))
        self.addCleanup(t.sock.close)
        # neither the injected LHLO nor MAIL ran
        self.assertEqual(t.cmd("RCPT TO:<%s>" % USER)[0], b"503 5.5.1 Send LHLO first")
        t.cmd("LHLO a")
        self.assertEqual(t.cmd("RCPT TO:<%s>" % USER)[0], b"503 5.5.1 MAIL needed first")

    def test_starttls_refusals(self):
        c = self.raw()
        c.cmd("LHLO a")
        self.assertEqual(c.cmd("STARTTLS now")[0][:9], b"501 5.5.4")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], b"250 2.1.0 OK")
        self.assertEqual(c.cmd("STARTTLS")[0], b"503 5.5.1 Mail transaction in progress")
        self.assertEqual(c.cmd("RSET")[0][:3], b"250")
        self.starttls(c)

    def test_openssl_s_client_starttls_lmtp(self):
        body = "Subject: via s_client\r\n\r\nhello\r\n"
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "lmtp", "-connect", "127.0.0.1:%d" % self.port,
             "-CAfile", self.ca, "-verify_return_error", "-verify_hostname", "localhost",
             "-quiet", "-ign_eof"],
            input=("LHLO s-client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\n"
                   "DATA\r\n%s.\r\nQUIT\r\n" % (USER, body)).encode(),
            capture_output=True, timeout=30)
        out = r.stdout.decode("latin-1")
        self.assertRegex(out, r"250 2\.0\.0 <%s> \S+ Saved" % re.escape(USER),
                         out + r.stderr.decode("latin-1"))
        self.assertIn("221 ", out)
        self.assertIn(b"via s_client", self.inbox_subjects())

    def test_lmtps_implicit_tls(self):
        s = socket.create_connection(("127.0.0.1", self.lmtps), timeout=10)
        t = Lmtp(self.ctx.wrap_socket(s, server_hostname="localhost"))
        self.addCleanup(t.sock.close)
        self.assertTrue(t.reply()[0].startswith(b"220 "))
        lhlo = t.cmd("LHLO a")
        self.assertNotIn(b"250-STARTTLS", lhlo)
        self.assertEqual(t.cmd("STARTTLS")[0], b"503 5.5.1 TLS already active")
        # a body of many TLS records, read without another EPOLLIN
        self.assertEqual(t.cmd("MAIL FROM:<a@example.org>")[0][:3], b"250")
        self.assertEqual(t.cmd("RCPT TO:<%s>" % USER)[0][:3], b"250")
        self.assertEqual(t.cmd("DATA")[0][:3], b"354")
        t.sock.sendall(b"Subject: big over lmtps\r\n\r\n" + (b"y" * 998 + b"\r\n") * 300 +
                       b".\r\n")
        self.assertEqual(t.reply()[0][:9], b"250 2.0.0")

    def test_bad_tls_input_closes_only_that_connection(self):
        pid = self.stratus.pid_of("lmtp")
        session = self.raw()
        session.cmd("LHLO a")
        session.cmd("MAIL FROM:<kept@example.org>")
        # garbage instead of a ClientHello, on lmtps and after STARTTLS
        s = socket.create_connection(("127.0.0.1", self.lmtps), timeout=10)
        s.sendall(b"LHLO x\r\n" * 20)
        self.assertTrue(closed_soon(s))
        s.close()
        c = self.raw()
        self.assertEqual(c.cmd("STARTTLS")[0][:3], b"220")
        c.sock.sendall(b"\x16\x03\x01\x00\x05not-a-client-hello" + os.urandom(300))
        self.assertTrue(closed_soon(c.sock))
        # a truncated record after the handshake: 1000 bytes promised, 10 sent
        c = self.raw()
        t = self.starttls(c)
        t.cmd("LHLO a")
        inner = socket.socket(fileno=os.dup(t.sock.fileno()))
        inner.sendall(struct.pack("!BHH", 23, 0x0303, 1000) + b"0123456789")
        inner.shutdown(socket.SHUT_WR)
        self.assertTrue(closed_soon(inner))
        inner.close()
        # the session that was there goes on, in the same process
        self.assertEqual(session.cmd("RCPT TO:<%s>" % USER)[0][:3], b"250")
        self.assertEqual(session.cmd("RSET")[0][:3], b"250")
        self.assertEqual(self.stratus.pid_of("lmtp"), pid)

    def reload_lmtp(self, pattern):
        at = len(self.stratus.read_log())
        os.kill(self.stratus.pid_of("lmtp"), signal.SIGHUP)
        self.stratus.wait_log(r"lmtp.*" + pattern, start_at=at)

    def test_sighup_reload_certificate_and_454_without_one(self):
        s = socket.create_connection(("127.0.0.1", self.lmtps), timeout=10)
        old = self.ctx.wrap_socket(s, server_hostname="localhost")
        self.addCleanup(old.close)
        old_serial = old.getpeercert()["serialNumber"]
        make_server_cert(self.certs, "server")
        self.reload_lmtp(r"reload: TLS certificate loaded")
        c = self.raw()
        t = self.starttls(c)
        self.assertNotEqual(t.sock.getpeercert()["serialNumber"], old_serial)
        # ssl = yes with the certificate gone from the configuration: not
        # offered, and STARTTLS is a temporary failure
        with open(self.stratus.config) as f:
            conf = f.read()
        try:
            with open(self.stratus.config, "w") as f:
                f.write(re.sub(r"(?m)^ssl_(cert|key) = .*$", "", conf))
            self.reload_lmtp(r"reload: TLS off")
            c = self.raw()
            self.assertNotIn(b"250-STARTTLS", c.cmd("LHLO a"))
            self.assertEqual(c.cmd("STARTTLS")[0][:9], b"454 4.7.0")
            self.assertEqual(c.cmd("NOOP")[0][:3], b"250")
        finally:
            with open(self.stratus.config, "w") as f:
                f.write(conf)
            self.reload_lmtp(r"reload: TLS certificate loaded")
        self.starttls(self.raw())
        # the TLS session from before both reloads still delivers
        old_c = Lmtp(old)
        self.assertTrue(old_c.reply()[0].startswith(b"220 "))
        self.assertEqual(old_c.cmd("LHLO a")[-1][:3], b"250")

    def test_no_tls_not_implemented_warning(self):
        self.assertNotIn("TLS is not implemented", self.stratus.read_log())


if __name__ == "__main__":
    main()
