"""svc-lmtp end to end: the real service set, driven with smtplib.LMTP
and raw sockets (TCP and the UNIX socket)."""

import glob
import imaplib
import os
import re
import smtplib
import socket
import unittest

from stratus_harness import Stratus, StratusTestCase, SANITIZER_RE, main

MSG = (b"From: a@example.org\r\nTo: user1@example.com\r\n"
       b"Message-ID: <m1@example.org>\r\nSubject: hello\r\n\r\n"
       b"line one\r\n.dot line\r\nbare lf\nend\r\n")


def objects_of(stratus, user):
    """Message objects (not index bundles) stored for user, as bytes."""
    out = []
    for path in glob.glob(os.path.join(stratus.dir, "objects", "*", "*", user, "*", "*")):
        if path.endswith("/_mailbox") or not os.path.isfile(path):
            continue  # svc-index's mailbox name marker, release markers
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def passwd_file_auth(stratus_dir, users_file):
    return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users_file}
}}
userdb {{
  driver = passwd-file
  args = {users_file}
  default_fields = home={stratus_dir}/home/%u
}}"""


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("connection closed; got %r" % lines)
        lines.append(line.decode())
        if line[3:4] != b"-":
            return "".join(lines)


class LmtpProtocolTest(StratusTestCase):
    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["lmtp"]), 10)
        f = s.makefile("rb")
        self.assertTrue(read_reply(f).startswith("220 "))
        return s, f

    def test_lhlo_capabilities_over_tcp(self):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            code, _ = l.ehlo()
            self.assertEqual(code, 250)
            for cap in ("pipelining", "chunking", "enhancedstatuscodes", "8bitmime",
                        "size", "smtputf8"):
                self.assertTrue(l.has_extn(cap), cap)
            self.assertEqual(l.noop()[0], 250)
            self.assertEqual(l.rset()[0], 250)

    def test_unix_socket(self):
        path = os.path.join(self.stratus.run_dir, "lmtp")
        with smtplib.LMTP(path) as l:
            self.assertEqual(l.ehlo()[0], 250)


    def test_bad_sequence_and_long_line(self):
        s, f = self.connect()
        with s:
            s.sendall(b"MAIL FROM:<a@b>\r\n")
            self.assertTrue(read_reply(f).startswith("503 5.5.1"))
            s.sendall(b"X" * 10000 + b"\r\nNOOP\r\n")
            self.assertTrue(read_reply(f).startswith("500 5.5.2"))
            self.assertTrue(read_reply(f).startswith("250 2.0.0"))
            s.sendall(b"LHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\nQUIT\r\n")
            self.assertTrue(read_reply(f).startswith("250-"))
            self.assertTrue(read_reply(f).startswith("250 2.1.0"))
            self.assertTrue(read_reply(f).startswith("503 5.5.1"))
            self.assertTrue(read_reply(f).startswith("221 2.0.0"))


class LmtpDeliveryTest(StratusTestCase):
    """Delivery into storage: the object holds the added trace headers and
    the body byte for byte; svc-index lists it in INBOX."""

    extra_config = """mail_plugins = $mail_plugins notify mail_log
protocol lmtp {
  lmtp_save_to_detail_mailbox = yes
  lda_mailbox_autocreate = yes
}
"""

    def status(self, user, box):
        r = self.stratus.ctl("mailbox", "status", user, box, check=False)
        return r.stdout

    def test_delivered_message_is_stored_with_trace_headers(self):
        before = len(objects_of(self.stratus, "user1@example.com"))
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail("a@example.org")
            l.rcpt("user1@example.com")
            code, msg = l.data(MSG)
            self.assertEqual(code, 250)
            self.assertRegex(msg.decode(), r"^2\.0\.0 <user1@example.com> \S+ Saved$")
        objs = objects_of(self.stratus, "user1@example.com")
        self.assertEqual(len(objs), before + 1)
        stored = [o for o in objs if o.endswith(MSG)]
        self.assertEqual(len(stored), 1)
        head = stored[0][:-len(MSG)].decode()
        self.assertTrue(head.startswith("Return-Path: <a@example.org>\r\n"
                                        "Delivered-To: user1@example.com\r\n"
                                        "Received: from mx.example.org ([127.0.0.1])\r\n"
                                        "\tby "), head)
        self.assertIn("\tfor <user1@example.com>; ", head)
        self.assertIn("messages=", self.status("user1@example.com", "INBOX"))
        log = self.stratus.wait_log(r"lmtp\(user1@example.com\)<\d+><[^>]+>: Info: saved: "
                                    r"box=INBOX, uid=\d+, msgid=<m1@example.org>, size=\d+")
        self.assertTrue(log)
        self.assertIn("msgid=<m1@example.org>: saved mail to INBOX", self.stratus.read_log())

    def test_imap_fetch_reads_delivery_back(self):
        body = MSG.replace(b"hello", b"imap readback")
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail("a@example.org")
            l.rcpt("user2@example.com")
            self.assertEqual(l.data(body)[0], 250)
        stored = [o for o in objects_of(self.stratus, "user2@example.com") if o.endswith(body)]
        self.assertEqual(len(stored), 1)
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        try:
            m.login("user2@example.com", "pass2")
            m.select("INBOX")
            typ, data = m.uid("SEARCH", None, "SUBJECT", '"imap readback"')
            uid = data[0].split()[-1]
            typ, data = m.uid("FETCH", uid, "(ENVELOPE BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            meta = data[0][0]
            self.assertIn(b'"imap readback"', meta)      # ENVELOPE subject
            self.assertIn(b"<m1@example.org>", meta)      # ENVELOPE message-id
            # BODY[] is the stored message, bare LFs sent as CRLF
            self.assertEqual(data[0][1],
                             stored[0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        finally:
            m.logout()

    def test_null_sender_and_bdat(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["lmtp"]), 10)
        f = s.makefile("rb")
        with s:
            read_reply(f)
            s.sendall(b"LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<user2@example.com>\r\n"
                      b"BDAT 5\r\nSubjeBDAT %d LAST\r\n" % (len(MSG) - 5) + MSG[5:])
            read_reply(f)
            self.assertTrue(read_reply(f).startswith("250 2.1.0"))
            self.assertTrue(read_reply(f).startswith("250 2.1.5"))
            self.assertTrue(read_reply(f).startswith("250 2.0.0 5 octets"))
            self.assertRegex(read_reply(f), r"^250 2\.0\.0 <user2@example.com> \S+ Saved")
        objs = [o for o in objects_of(self.stratus, "user2@example.com")
                if o.endswith(b"Subje" + MSG[5:])]
        self.assertEqual(len(objs), 1)
        self.assertTrue(objs[0].startswith(b"Return-Path: <>\r\n"))

    def test_multiple_recipients_one_reply_each(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["lmtp"]), 10)
        f = s.makefile("rb")
        body = MSG.replace(b"hello", b"multi")
        with s:
            read_reply(f)
            s.sendall(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\n"
                      b"RCPT TO:<user1@example.com>\r\nRCPT TO:<user2@example.com>\r\n"
                      b"RCPT TO:<user1+Lists@example.com>\r\nDATA\r\n")
            for _ in range(6):
                read_reply(f)
            s.sendall(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            replies = [read_reply(f) for _ in range(3)]
        self.assertRegex(replies[0], r"^250 2\.0\.0 <user1@example.com> ")
        self.assertRegex(replies[1], r"^250 2\.0\.0 <user2@example.com> ")
        self.assertRegex(replies[2], r"^250 2\.0\.0 <user1\+Lists@example.com> ")
        # single instance: one object for the three copies of two users
        objs = [o for u in ("user1@example.com", "user2@example.com")
                for o in objects_of(self.stratus, u) if o.endswith(body)]
        self.assertEqual(len(objs), 1)
        # with several recipients the trace headers name none of them
        # (Dovecot: Delivered-To and "for" only with a single recipient)
        self.assertNotIn(b"\tfor <", objs[0])
        self.assertNotIn(b"Delivered-To:", objs[0])
        # lmtp_save_to_detail_mailbox + lda_mailbox_autocreate
        self.assertIn("Lists messages=1", self.status("user1@example.com", "Lists"))


    def test_recipient_dropped_while_its_mailbox_is_looked_up(self):
        # svc-lmtp asks svc-index for the recipient's mailbox at RCPT; an
        # RSET or a disconnect right after must neither crash nor store.
        body = MSG.replace(b"hello", b"prefetch")

        def connect():
            s = socket.create_connection(("127.0.0.1", self.stratus.ports["lmtp"]), 10)
            f = s.makefile("rb")
            self.assertTrue(read_reply(f).startswith("220 "))
            return s, f
        s, f = connect()
        with s:
            s.sendall(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\n"
                      b"RCPT TO:<user2@example.com>\r\nRSET\r\n"
                      b"MAIL FROM:<a@example.org>\r\n"
                      b"RCPT TO:<user2@example.com>\r\nDATA\r\n")
            replies = [read_reply(f) for _ in range(7)]
            self.assertTrue(replies[-1].startswith("354 "), replies)
            s.sendall(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            self.assertRegex(read_reply(f), r"^250 2\.0\.0 <user2@example.com> ")
        for _ in range(5):
            s, f = connect()
            s.sendall(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\n"
                      b"RCPT TO:<user2@example.com>\r\n")
            s.close()
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            self.assertEqual(l.sendmail("a@example.org", ["user2@example.com"],
                                        body.replace(b"prefetch", b"after")), {})
        stored = objects_of(self.stratus, "user2@example.com")
        self.assertEqual(len([o for o in stored if o.endswith(body)]), 1)
        self.assertIn("INBOX messages=", self.status("user2@example.com", "INBOX"))


class LmtpUserdbTest(unittest.TestCase):
    """A real userdb (passwd-file): an unknown recipient is 550 5.1.1."""

    @classmethod
    def setUpClass(cls):
        cls.stratus = Stratus(auth_config="")
        users = cls.stratus.users_file
        cls.stratus.auth_config = passwd_file_auth(cls.stratus.dir, users)
        with open(cls.stratus.config, "w") as f:
            f.write(cls.stratus.render_config("imap pop3 lmtp sieve"))
        cls.stratus.start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def test_unknown_user_is_550_511(self):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            self.assertEqual(l.mail("a@example.org")[0], 250)
            code, msg = l.rcpt("nobody@example.com")
            self.assertEqual(code, 550, msg)
            self.assertTrue(msg.startswith(b"5.1.1 "), msg)
            code, msg = l.rcpt("user1@example.com")
            self.assertEqual(code, 250, msg)
            code, msg = l.data(MSG)
            self.assertEqual(code, 250, msg)


class LmtpQuotaTest(StratusTestCase):
    """svc-quota refuses: 552 5.2.2 with quota_exceeded_message, nothing stored."""

    extra_config = """mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=1k
  quota_grace = 0
  quota_exceeded_message = Quota exceeded (mailbox for user is full)
}
"""

    def test_over_quota_is_552_522(self):
        big = MSG + b"x" * 3000 + b"\r\n"
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            l.mail("a@example.org")
            l.rcpt("user2@example.com")
            code, msg = l.data(big)
            self.assertEqual(code, 552, msg)
            self.assertEqual(msg, b"5.2.2 <user2@example.com> Quota exceeded (mailbox for user is full)")
        self.assertEqual(objects_of(self.stratus, "user2@example.com"), [])
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            l.mail("a@example.org")
            l.rcpt("user2@example.com")
            code, msg = l.data(MSG)
            self.assertEqual(code, 250, msg)


if __name__ == "__main__":
    main()
