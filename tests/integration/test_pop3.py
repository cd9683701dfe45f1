"""svc-pop3 end to end with poplib against the real service set."""

import glob
import os
import poplib
import re
import smtplib
import socket
import time

from stratus_harness import StratusTestCase, main


def deliver(stratus, rcpt, body, sender="a@example.org"):
    with smtplib.LMTP("127.0.0.1", stratus.ports["lmtp"]) as l:
        l.ehlo("mx.example.org")
        l.mail(sender)
        code, msg = l.rcpt(rcpt)
        assert code == 250, msg
        code, msg = l.data(body)
        assert code == 250, msg


def message_objects(stratus, user):
    """Paths of user's message objects (<mailbox-guid>/<message-guid>)."""
    return [p for p in glob.glob(os.path.join(stratus.dir, "objects", "*", "*", user, "*", "*"))
            if re.fullmatch(r"[0-9a-f]{32}", os.path.basename(p))]


class Pop3ProtocolTest(StratusTestCase):
    def connect(self):
        return poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)

    def test_greeting_and_capa(self):
        p = self.connect()
        self.assertTrue(p.getwelcome().startswith(b"+OK"))
        caps = p.capa()
        for cap in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER"):
            self.assertIn(cap, caps)
        self.assertIn("PLAIN", caps["SASL"])
        p.quit()

    def test_wrong_password_is_auth_error(self):
        p = self.connect()
        p.user("user1@example.com")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong")
        self.assertRegex(cm.exception.args[0], rb"^-ERR \[(AUTH|SYS/TEMP)\]")
        p.quit()

    def test_commands_in_wrong_state(self):
        with socket.create_connection(("127.0.0.1", self.stratus.ports["pop3"]), 10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"STAT\r\nRETR 1\r\nQUIT\r\n")
            self.assertEqual(f.readline(), b"-ERR Unknown command.\r\n")
            self.assertEqual(f.readline(), b"-ERR Unknown command.\r\n")
            self.assertEqual(f.readline(), b"+OK Logging out.\r\n")


class Pop3MaildropTest(StratusTestCase):
    """LMTP deliveries read back through POP3, UIDL stable across sessions,
    DELE + QUIT expunge and delete the objects."""

    users = {"user1@example.com": "pass1", "user2@example.com": "pass2",
             "user3@example.com": "pass3"}
    extra_config = """protocol pop3 {
  pop3_uidl_format = %g
  mail_max_userip_connections = 2
  mail_plugins = $mail_plugins mail_log
}
"""

    def test_mail_log_is_implemented_not_warned(self):
        # POP3 writes mail_log's expunge lines (test_pop3_maillog.py)
        self.stratus.wait_log(r"all \d+ services ready")
        self.assertNotRegex(self.stratus.read_log(), r"mail_log is accepted but not implemented")

    def login(self, user, password):
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)
        p.user(user)
        p.pass_(password)
        return p

    def test_retr_is_byte_identical_plus_trace_headers(self):
        bodies = [b"From: a@example.org\r\nSubject: one\r\n\r\nhello\r\n.leading dot\r\n",
                  b"Subject: two\n\nbare\nlf\r\n",
                  b"Subject: three\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000]
        for b in bodies:
            deliver(self.stratus, "user1@example.com", b)
        p = self.login("user1@example.com", "pass1")
        count, size = p.stat()
        self.assertEqual(count, 3)
        listing = p.list()[1]
        uidls = p.uidl()[1]
        stored = {}
        for path in message_objects(self.stratus, "user1@example.com"):
            with open(path, "rb") as f:
                stored[os.path.basename(path)] = f.read()
        total = 0
        for i, b in enumerate(bodies, 1):
            resp, lines, octets = p.retr(i)
            got = b"\r\n".join(lines) + b"\r\n"
            self.assertTrue(got.endswith(b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))
            self.assertTrue(got.startswith(b"Return-Path: <a@example.org>\r\n"
                                           b"Delivered-To: user1@example.com\r\n"))
            # %g: the UIDL is the message GUID, which names the object
            uidl = uidls[i - 1].split()[1].decode()
            self.assertIn(uidl, stored)
            raw = stored[uidl]
            self.assertEqual(got, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            # LIST reports the size RETR sends
            self.assertEqual(int(listing[i - 1].split()[1]), len(got))
            total += len(got)
        self.assertEqual(size, total)
        resp, lines, _ = p.top(1, 0)
        self.assertNotIn(b"hello", lines)
        p.quit()
        # the same UIDLs in the next session
        p = self.login("user1@example.com", "pass1")
        self.assertEqual(p.uidl()[1], uidls)
        p.quit()

    def test_dele_quit_expunges_and_deletes_objects(self):
        for i in range(3):
            deliver(self.stratus, "user2@example.com", b"Subject: %d\r\n\r\nbody\r\n" % i)
        self.assertEqual(len(message_objects(self.stratus, "user2@example.com")), 3)
        p = self.login("user2@example.com", "pass2")
        self.assertEqual(p.stat()[0], 3)
        p.retr(3)
        p.dele(1)
        p.dele(2)
        with self.assertRaises(poplib.error_proto):
            p.dele(2)           # DELE twice
        with self.assertRaises(poplib.error_proto):
            p.retr(9)           # out of range
        self.assertTrue(p.quit().startswith(b"+OK"))
        p = self.login("user2@example.com", "pass2")
        self.assertEqual(p.stat()[0], 1)
        self.assertIn(b"Subject: 2", b"\r\n".join(p.retr(1)[1]))
        p.rset()
        p.quit()
        for _ in range(50):
            if len(message_objects(self.stratus, "user2@example.com")) == 1:
                break
            time.sleep(0.1)
        self.assertEqual(len(message_objects(self.stratus, "user2@example.com")), 1)
        out = self.stratus.ctl("mailbox", "status", "user2@example.com", "INBOX").stdout
        self.assertIn("messages=1 unseen=0", out)   # RETR set \Seen

    def test_mail_max_userip_connections_is_in_use(self):
        a = self.login("user3@example.com", "pass3")
        b = self.login("user3@example.com", "pass3")
        c = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)
        c.user("user3@example.com")
        with self.assertRaises(poplib.error_proto) as cm:
            c.pass_("pass3")
        self.assertTrue(cm.exception.args[0].startswith(b"-ERR [IN-USE] "), cm.exception.args)
        c.close()
        a.quit()
        d = self.login("user3@example.com", "pass3")   # a's slot was released
        d.quit()
        b.quit()


if __name__ == "__main__":
    main()
