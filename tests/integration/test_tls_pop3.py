"""POP3 over TLS against the real service set: STLS (poplib), pop3s on an
ssl = yes listener, plaintext pipelined after STLS dropped, garbage on
pop3s closing only that connection; fetchmail over STLS and pop3s; and
SIGHUP reloading the certificate for new IMAP/POP3 connections while one
in TLS goes on."""

import imaplib
import os
import poplib
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from stratus_harness import main
from tls_harness import TlsTestCase, closed_soon, make_server_cert

USER, PASS = "user1@example.com", "pass1"


class TlsPop3Test(TlsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = cls.stratus.ports["pop3"]
        cls.pop3s = cls.stratus.ports_tls["pop3s"]

    def test_stls_then_login(self):
        p = poplib.POP3("127.0.0.1", self.port, timeout=10)
        self.assertIn("STLS", p.capa())
        p.stls(context=self.ctx)
        self.assertNotIn("STLS", p.capa())
        p.user(USER)
        p.pass_(PASS)
        p.stat()
        p.quit()

    def test_pop3s(self):
        p = poplib.POP3_SSL("127.0.0.1", self.pop3s, context=self.ctx, timeout=10)
        self.assertNotIn("STLS", p.capa())
        p.user(USER)
        p.pass_(PASS)
        p.stat()
        p.quit()

    def test_plaintext_after_stls_is_discarded(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"STLS\r\nUSER %s\r\nPASS %s\r\n" % (USER.encode(), PASS.encode()))
        self.assertTrue(f.readline().startswith(b"+OK Begin TLS"))
        t = self.ctx.wrap_socket(s, server_hostname="localhost")
        tf = t.makefile("rb")
        t.sendall(b"STAT\r\n")
        # the injected USER/PASS never ran: still in AUTHORIZATION
        self.assertTrue(tf.readline().startswith(b"-ERR"))
        t.close()

    def test_garbage_on_pop3s_closes_only_it(self):
        p = poplib.POP3_SSL("127.0.0.1", self.pop3s, context=self.ctx, timeout=10)
        p.user(USER)
        p.pass_(PASS)
        s = socket.create_connection(("127.0.0.1", self.pop3s), timeout=10)
        s.sendall(b"USER x\r\n" * 20)
        self.assertTrue(closed_soon(s))
        s.close()
        p.noop()
        p.quit()

    def test_sighup_reloads_certificate_for_new_connections(self):
        old = poplib.POP3_SSL("127.0.0.1", self.pop3s, context=self.ctx, timeout=10)
        old_serial = old.sock.getpeercert()["serialNumber"]
        # a renewed certificate in the same files, then SIGHUP
        make_server_cert(self.certs, "server", cn="localhost")
        at = len(self.stratus.read_log())
        for svc in ("pop3", "imap"):
            os.kill(self.stratus.pid_of(svc), signal.SIGHUP)
        self.stratus.wait_log(r"pop3.*reload: TLS certificate loaded", start_at=at)
        self.stratus.wait_log(r"imap.*reload: TLS certificate loaded", start_at=at)
        new = poplib.POP3_SSL("127.0.0.1", self.pop3s, context=self.ctx, timeout=10)
        self.assertNotEqual(new.sock.getpeercert()["serialNumber"], old_serial)
        new.quit()
        c = imaplib.IMAP4_SSL("127.0.0.1", self.stratus.ports_tls["imaps"],
                              ssl_context=self.ctx, timeout=10)
        self.assertNotEqual(c.sock.getpeercert()["serialNumber"], old_serial)
        c.logout()
        # the session started before the reload goes on
        old.user(USER)
        old.pass_(PASS)
        old.quit()

    @unittest.skipUnless(shutil.which("fetchmail"), "fetchmail not installed")
    def test_fetchmail_stls_and_pop3s(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.stratus.ports_tls["imaps"],
                              ssl_context=self.ctx, timeout=10)
        c.login(USER, PASS)
        c.append("INBOX", None, None, b"Subject: for fetchmail\r\n\r\nhello\r\n")
        c.logout()
        # no ssl: STLS, required by sslproto; ssl: pop3s
        for name, port, implicit in (("stls", self.port, ""), ("pop3s", self.pop3s, "ssl")):
            w = tempfile.mkdtemp(prefix="fetchmail-")
            try:
                out = os.path.join(w, "mbox")
                rc = os.path.join(w, "fetchmailrc")
                with open(rc, "w") as f:
                    f.write(f"""set no syslog
poll localhost proto POP3 port {port}
  user "{USER}" there with password "{PASS}" is "root" here
  options keep fetchall {implicit} sslproto 'TLS1.2+' sslcertck sslcertfile "{self.ca}"
  mda "/bin/sh -c 'cat >> {out}'"
""")
                os.chmod(rc, 0o600)
                r = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], capture_output=True,
                                   timeout=60, env={**os.environ, "HOME": w,
                                                    "FETCHMAILHOME": w})
                log = (r.stdout + r.stderr).decode("latin-1")
                self.assertEqual(r.returncode, 0, log)
                with open(out, "rb") as f:
                    self.assertIn(b"Subject: for fetchmail", f.read(), name)
                if not implicit:
                    self.assertIn("STLS", log)
            finally:
                shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
