"""ssl = required end to end (issue 19), for IMAP and POP3.

Dovecot documents ssl = required as "any attempt to authenticate before
SSL/TLS is enabled will cause an authentication failure", whatever
disable_plaintext_auth says, and its login code exempts a connection it
counts as secured (the peer's address is the server's own, as for
loopback), exactly as for disable_plaintext_auth. So the services run
here with ssl = required and disable_plaintext_auth = no:

- from 192.0.2.2 to 192.0.2.1 (a network namespace of this test's own,
  as in test_tls_nonloopback.py): IMAP shows LOGINDISABLED, LOGIN and
  AUTHENTICATE PLAIN get NO [PRIVACYREQUIRED]; POP3 hides USER and SASL
  and refuses USER and AUTH; after STARTTLS / STLS, or on imaps, the
  same logins succeed;
- from loopback the logins succeed without TLS (secured, as in Dovecot).
Skipped, saying why, where a network namespace cannot be made."""

import imaplib
import poplib
import unittest

from stratus_harness import main
from test_tls_nonloopback import (CLIENT, PASS, PLAIN, SERVER, USER, SourcedIMAP,
                                  SourcedIMAPS, SourcedPOP3, enter_own_netns)
from tls_harness import TlsTestCase


class SslRequiredTest(TlsTestCase):
    tls_options = {"address": SERVER, "ssl_mode": "required",
                   "disable_plaintext_auth": "no"}

    @classmethod
    def setUpClass(cls):
        why = enter_own_netns()
        if why is not None:
            raise unittest.SkipTest("no network namespace for a non-loopback peer: " + why)
        super().setUpClass()
        cls.ports = cls.stratus.ports

    def test_imap_login_and_authenticate_refused_until_starttls(self):
        c = SourcedIMAP(SERVER, self.ports["imap"], CLIENT)
        self.assertIn("LOGINDISABLED", c.capabilities)
        self.assertIn("STARTTLS", c.capabilities)
        with self.assertRaisesRegex(imaplib.IMAP4.error, "PRIVACYREQUIRED"):
            c.login(USER, PASS)
        tag = c._new_tag()
        c.send(tag + b" AUTHENTICATE PLAIN " + PLAIN + b"\r\n")
        line = c.readline()
        self.assertTrue(line.startswith(tag + b" NO [PRIVACYREQUIRED]"), line)
        c.starttls(ssl_context=self.ctx)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()

    def test_imap_authenticate_after_starttls(self):
        c = SourcedIMAP(SERVER, self.ports["imap"], CLIENT)
        c.starttls(ssl_context=self.ctx)
        tag = c._new_tag()
        c.send(tag + b" AUTHENTICATE PLAIN " + PLAIN + b"\r\n")
        line = c.readline()
        self.assertTrue(line.startswith(tag + b" OK"), line)
        c.logout()

    def test_imaps_logs_in(self):
        c = SourcedIMAPS(SERVER, self.stratus.ports_tls["imaps"], CLIENT, ssl_context=self.ctx)
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()

    def test_pop3_user_and_auth_refused_until_stls(self):
        p = SourcedPOP3(SERVER, self.ports["pop3"], CLIENT)
        capa = p.capa()
        self.assertIn("STLS", capa)
        self.assertNotIn("USER", capa)
        self.assertNotIn("SASL", capa)
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
            p.user(USER)
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
            p._shortcmd("AUTH PLAIN " + PLAIN.decode())
        p.stls(context=self.ctx)
        self.assertIn("USER", p.capa())
        p.user(USER)
        p.pass_(PASS)
        p.stat()
        p.quit()

    def test_same_address_counts_as_secured(self):
        c = SourcedIMAP(SERVER, self.ports["imap"], SERVER)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()
        p = SourcedPOP3(SERVER, self.ports["pop3"], SERVER)
        p.user(USER)
        p.pass_(PASS)
        p.quit()


if __name__ == "__main__":
    main()
