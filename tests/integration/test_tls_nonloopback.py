"""disable_plaintext_auth = yes seen from a peer that is NOT loopback.
Loopback and the server's own address count as secured (as in Dovecot),
so this test moves itself into a network namespace of its own (unshare,
as root) with 192.0.2.1 (the server) and 192.0.2.2 (the client) on its
loopback interface, and runs the whole service set there. From
192.0.2.2: IMAP shows LOGINDISABLED and refuses LOGIN/AUTHENTICATE PLAIN
until STARTTLS; POP3 hides USER/SASL and refuses them until STLS;
ManageSieve announces "SASL" "" and refuses AUTHENTICATE until STARTTLS;
LMTP offers STARTTLS and delivers either way (it has no login). From
192.0.2.1 to 192.0.2.1 (the same address) plaintext login is allowed.
Skipped, saying why, where a network namespace cannot be made."""

import base64
import ctypes
import imaplib
import poplib
import smtplib
import socket
import subprocess
import unittest

from stratus_harness import main
from tls_harness import TlsTestCase, sieve_session

USER, PASS = "user1@example.com", "pass1"
SERVER, CLIENT = "192.0.2.1", "192.0.2.2"
CLONE_NEWNET = 0x40000000
PLAIN = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASS.encode())


def enter_own_netns():
    """None once this process is in a fresh network namespace with both
    test addresses up, else why not."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return "unshare(CLONE_NEWNET) failed: errno %d (needs root)" % ctypes.get_errno()
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", SERVER + "/32", "dev", "lo"],
                ["ip", "addr", "add", CLIENT + "/32", "dev", "lo"]):
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=10)
        except FileNotFoundError:
            return "no ip command (iproute2)"
        if r.returncode != 0:
            return "%s: %s" % (" ".join(cmd), r.stderr.decode(errors="replace").strip())
    return None


class FromSource:
    """A standard-library client (imaplib, poplib) whose connection is
    made from a chosen source address."""

    def __init__(self, host, port, source, **kw):
        self.source = source
        super().__init__(host, port, timeout=10, **kw)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


class SourcedIMAP(FromSource, imaplib.IMAP4):
    pass


class SourcedPOP3(FromSource, poplib.POP3):
    pass


class SourcedIMAPS(FromSource, imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        return self.ssl_context.wrap_socket(super()._create_socket(timeout),
                                            server_hostname=self.host)


class NonLoopbackTest(TlsTestCase):
    tls_options = {"address": SERVER}

    @classmethod
    def setUpClass(cls):
        why = enter_own_netns()
        if why is not None:
            raise unittest.SkipTest("no network namespace for a non-loopback peer: " + why)
        super().setUpClass()
        cls.ports = cls.stratus.ports

    def connect(self, service, source=CLIENT):
        s = socket.create_connection((SERVER, self.ports[service]), timeout=10,
                                     source_address=(source, 0))
        self.addCleanup(s.close)
        return s

    def sieve(self, source=CLIENT):
        c = sieve_session(self.connect("sieve", source))
        self.addCleanup(c.close)  # the TLS socket, after STARTTLS
        return c

    def imap(self, source=CLIENT):
        return SourcedIMAP(SERVER, self.ports["imap"], source)

    def test_imap_logindisabled_until_starttls(self):
        c = self.imap()
        self.assertIn("LOGINDISABLED", c.capabilities)
        self.assertIn("STARTTLS", c.capabilities)
        self.assertNotIn("AUTH=PLAIN", c.capabilities)
        with self.assertRaisesRegex(imaplib.IMAP4.error, "PRIVACYREQUIRED"):
            c.login(USER, PASS)
        tag = c._new_tag()
        c.send(tag + b" AUTHENTICATE PLAIN " + PLAIN + b"\r\n")
        line = c.readline()
        self.assertTrue(line.startswith(tag + b" NO [PRIVACYREQUIRED]"), line)
        c.starttls(ssl_context=self.ctx)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertIn("AUTH=PLAIN", c.capabilities)
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()

    def test_imap_same_address_counts_as_secured(self):
        c = self.imap(source=SERVER)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()

    def test_imaps_from_outside_logs_in(self):
        c = SourcedIMAPS(SERVER, self.stratus.ports_tls["imaps"], CLIENT, ssl_context=self.ctx)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertEqual(c.login(USER, PASS)[0], "OK")
        c.logout()

    def test_pop3_plaintext_refused_until_stls(self):
        p = SourcedPOP3(SERVER, self.ports["pop3"], CLIENT)
        capa = p.capa()
        self.assertIn("STLS", capa)
        self.assertNotIn("USER", capa)
        self.assertNotIn("SASL", capa)
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Plaintext"):
            p.user(USER)
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
            p._shortcmd("AUTH PLAIN " + PLAIN.decode())
        p.stls(context=self.ctx)
        self.assertIn("USER", p.capa())
        p.user(USER)
        p.pass_(PASS)
        p.stat()
        p.quit()

    def test_managesieve_authenticate_refused_until_starttls(self):
        c = self.sieve()
        st, caps = c.greeting
        self.assertIn(b'"SASL" ""', caps)
        self.assertIn(b'"STARTTLS"', caps)
        st, _ = c.cmd(b'AUTHENTICATE "PLAIN" "' + PLAIN + b'"\r\n')
        self.assertTrue(st.startswith(b"NO (ENCRYPT-NEEDED)"), st)
        st, _ = c.cmd('AUTHENTICATE "LOGIN"\r\n')
        self.assertTrue(st.startswith(b"NO (ENCRYPT-NEEDED)"), st)
        st, caps = c.starttls(self.ctx)
        self.assertIn(b'"SASL" "PLAIN LOGIN"', caps)
        self.assertNotIn(b'"STARTTLS"', caps)
        self.assertTrue(c.login().startswith(b"OK"))
        st, _ = c.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"OK"), st)

    def test_managesieve_same_address_counts_as_secured(self):
        c = self.sieve(source=SERVER)
        self.assertIn(b'"SASL" "PLAIN LOGIN"', c.greeting[1])
        self.assertTrue(c.login().startswith(b"OK"))

    def test_lmtp_starttls_from_outside(self):
        c = smtplib.LMTP(SERVER, self.ports["lmtp"], timeout=10,
                         source_address=(CLIENT, 0))
        self.addCleanup(c.close)
        c.ehlo()
        self.assertTrue(c.has_extn("starttls"))
        self.assertEqual(c.starttls(context=self.ctx)[0], 220)
        self.assertEqual(c.sendmail("a@example.org", [USER],
                                    b"Subject: from outside\r\n\r\nhi\r\n"), {})
        c.quit()


if __name__ == "__main__":
    main()
