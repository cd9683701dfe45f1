"""svc-imap message commands through svc-index and svc-blob: APPEND
(APPENDUID, flags, INTERNALDATE, TRYCREATE, MULTIAPPEND), FETCH, STORE,
EXPUNGE, COPY/MOVE (COPYUID), SEARCH, untagged updates between two
sessions, IDLE, and mbsync syncing a mailbox."""

import imaplib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from stratus_harness import StratusTestCase, main

MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: Bob <bob@example.com>\r\n"
       b"Subject: hello there\r\n"
       b"Message-ID: <m1@example.org>\r\n"
       b"Date: Wed, 17 Jul 1996 02:44:25 -0700\r\n"
       b"\r\n"
       b"Body line one\r\n"
       b"second line\r\n")


def msg(n, extra=b""):
    return (b"From: sender%d@example.org\r\nSubject: message %d\r\n"
            b"Message-ID: <n%d@example.org>\r\n\r\nbody %d\r\n%s" % (n, n, n, n, extra))


class ImapMessageTest(StratusTestCase):
    extra_config = ""

    def login(self, user="user1@example.com", password="pass1"):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, password)
        return m

    def test_append_appenduid_and_status(self):
        m = self.login()
        self.assertEqual(m.create("AppendBox")[0], "OK")
        typ, data = m.append("AppendBox", r"(\Seen $Label1)",
                             '"17-Jul-1996 02:44:25 -0700"', MSG)
        self.assertEqual(typ, "OK", data)
        r = re.match(rb"\[APPENDUID (\d+) (\d+)\] Append completed.", data[0])
        self.assertIsNotNone(r, data)
        typ, data = m.status("AppendBox", "(MESSAGES UNSEEN UIDNEXT)")
        self.assertIn(b"MESSAGES 1 UNSEEN 0 UIDNEXT %d" % (int(r.group(2)) + 1), data[0])
        m.logout()

    def test_append_missing_mailbox_trycreate(self):
        m = self.login()
        typ, data = m.append("NoSuchBox", None, None, MSG)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        m.logout()

    def test_append_bad_flag_and_date(self):
        m = self.login()
        with self.assertRaisesRegex(imaplib.IMAP4.error, "Invalid system flag"):
            m.append("INBOX", r"(\Bogus)", None, MSG)
        with self.assertRaisesRegex(imaplib.IMAP4.error, "Invalid internal date"):
            m.append("INBOX", None, '"31-Foo-2020 00:00:00 +0000"', MSG)
        self.assertEqual(m.noop()[0], "OK")   # the session goes on
        m.logout()


if __name__ == "__main__":
    main()
