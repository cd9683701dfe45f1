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


class ImapMessageFlowTest(StratusTestCase):
    """Two sessions of one user working on one mailbox."""

    def login(self, user="user2@example.com", password="pass2"):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, password)
        return m

    def fill(self, m, box, n):
        m.create(box)
        for i in range(1, n + 1):
            typ, data = m.append(box, None, None, msg(i))
            self.assertEqual(typ, "OK", data)

    def test_fetch_items_and_body_identical(self):
        m = self.login()
        m.create("Fetch")
        typ, data = m.append("Fetch", r"(\Flagged)", '"17-Jul-1996 02:44:25 -0700"', MSG)
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
        m.select("Fetch")
        typ, data = m.fetch("1", "(FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)")
        self.assertEqual(typ, "OK", data)
        line = data[0] if isinstance(data[0], bytes) else data[0][0]
        self.assertIn(b"FLAGS (\\Flagged \\Recent)", line)   # this session selected first
        self.assertIn(b"UID %d" % uid, line)
        self.assertIn(b"RFC822.SIZE %d" % len(MSG), line)
        self.assertIn(b'"hello there"', line)
        self.assertIn(b'("Alice" NIL "alice" "example.org")', line)
        self.assertIn(b'BODYSTRUCTURE ("text" "plain"', line)
        # BODY.PEEK[] is byte-identical and leaves \Seen alone
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], MSG)
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<5.8>)")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data[0][1], b"Subject: hello there\r\n\r\n")
        self.assertEqual(data[1][1], MSG.split(b"\r\n\r\n", 1)[1][5:13])
        # BODY[] sets \Seen and reports it
        typ, data = m.fetch("1", "(BODY[])")
        self.assertEqual(data[0][1], MSG)
        self.assertIn(b"\\Seen", b"".join(d if isinstance(d, bytes) else d[0] for d in data))
        typ, data = m.fetch("1", "RFC822.HEADER")
        self.assertEqual(data[0][1], MSG.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
        typ, data = m.fetch("1", "FAST")
        self.assertEqual(typ, "OK")
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch("5", "FLAGS")           # beyond EXISTS: BAD
        m.logout()

    def test_bare_lf_body_fetched_as_crlf(self):
        m = self.login()
        m.create("Lf")
        raw = b"Subject: lf\n\nline1\nline2\n"
        # imaplib converts LF to CRLF itself; send the literal by hand
        tag = m._new_tag()
        m.send(b"%s APPEND Lf {%d+}\r\n%s\r\n" % (tag, len(raw), raw))
        while True:
            line = m.readline()
            if line.startswith(tag):
                break
        self.assertIn(b"OK", line)
        m.select("Lf")
        typ, data = m.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(data[0][1], raw.replace(b"\n", b"\r\n"))
        self.assertIn(b"RFC822.SIZE %d" % len(raw.replace(b"\n", b"\r\n")), data[0][0])
        m.logout()

    def test_store_expunge_and_other_session_sees_it(self):
        a = self.login()
        self.fill(a, "Shared", 4)
        b = self.login()
        a.select("Shared")
        b.select("Shared")
        typ, data = a.store("2", "+FLAGS", r"(\Deleted \Seen)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Deleted", data[0])
        typ, data = a.store("3", "+FLAGS.SILENT", r"\Flagged")
        self.assertEqual(data, [None])
        typ, data = a.uid("STORE", "1:*", "-FLAGS", r"(\Seen)")
        self.assertEqual(typ, "OK")
        # b learns the flag changes at NOOP
        b.noop()
        fetches = b.untagged_responses.pop("FETCH", [])
        self.assertTrue(any(b"\\Deleted" in f for f in fetches), fetches)
        typ, data = a.expunge()
        self.assertEqual(data, [b"2"])
        b.noop()
        self.assertEqual(b.untagged_responses.pop("EXPUNGE", []), [b"2"])
        typ, data = b.fetch("1:*", "(UID)")
        self.assertEqual(len(data), 3)
        # a new message appended by a appears in b as EXISTS
        a.append("Shared", None, None, msg(9))
        b.noop()
        self.assertEqual(b.untagged_responses.pop("EXISTS", [])[-1], b"4")
        b.logout()
        a.logout()

    def test_copy_move_copyuid(self):
        m = self.login()
        self.fill(m, "Src", 3)
        m.create("Dst")
        m.select("Src")
        typ, data = m.copy("1:2", "Dst")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"\[COPYUID \d+ \d+:\d+ \d+:\d+\] Copy completed.")
        typ, data = m.copy("1", "Missing")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        typ, data = m._simple_command("MOVE", "3", "Dst")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.untagged_responses.pop("EXPUNGE", []), [b"3"])
        typ, data = m.status("Dst", "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        m.select("Dst")
        typ, data = m.fetch("3", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], msg(3))   # the moved object is shared, not copied
        m.logout()

    def test_search(self):
        m = self.login()
        self.fill(m, "Search", 5)
        m.select("Search")
        m.store("2", "+FLAGS", r"\Seen")
        self.assertEqual(m.search(None, "ALL")[1], [b"1 2 3 4 5"])
        self.assertEqual(m.search(None, "SEEN")[1], [b"2"])
        self.assertEqual(m.search(None, "UNSEEN", "NOT", "4")[1], [b"1 3 5"])
        self.assertEqual(m.search(None, "SUBJECT", '"message 3"')[1], [b"3"])
        self.assertEqual(m.search(None, "FROM", "sender4")[1], [b"4"])
        self.assertEqual(m.search(None, "BODY", '"body 5"')[1], [b"5"])
        self.assertEqual(m.search(None, "TEXT", '"message 1"')[1], [b"1"])
        self.assertEqual(m.search(None, "OR", "1", "HEADER", "Message-ID", "n2@")[1], [b"1 2"])
        self.assertEqual(m.search("UTF-8", "LARGER", "1")[1], [b"1 2 3 4 5"])
        typ, data = m.uid("SEARCH", "1:*")
        self.assertEqual(len(data[0].split()), 5)
        typ, data = m._simple_command("SEARCH", "CHARSET", "KOI8-R", "ALL")
        self.assertEqual(typ, "NO")
        with self.assertRaises(imaplib.IMAP4.error):
            m.search(None, "BOGUS")
        m.logout()

    def test_idle_sees_append_within_one_second(self):
        a = self.login()
        a.create("Idle")
        a.select("Idle")
        tag = a._new_tag()
        a.send(b"%s IDLE\r\n" % tag)
        self.assertTrue(a.readline().startswith(b"+"))
        b = self.login()
        start = time.monotonic()
        b.append("Idle", None, None, msg(1))
        a.sock.settimeout(5)
        line = a.readline()
        elapsed = time.monotonic() - start
        self.assertEqual(line, b"* 1 EXISTS\r\n")
        self.assertLess(elapsed, 1.0)
        a.send(b"DONE\r\n")
        while True:
            line = a.readline()
            if line.startswith(tag):
                break
        self.assertIn(b"OK Idle completed.", line)
        a.sock.settimeout(None)
        self.assertEqual(a.noop()[0], "OK")
        b.logout()
        a.logout()

    def test_large_body_to_slow_reader(self):
        m = self.login()
        m.create("Big")
        body = b"".join(b"line %07d of a large message body\r\n" % i for i in range(150000))
        big = b"Subject: big\r\n\r\n" + body
        self.assertEqual(m.append("Big", None, None, big)[0], "OK")
        m.select("Big")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], big)
        m.logout()


@unittest.skipUnless(shutil.which("mbsync"), "isync (mbsync) not installed")
class ImapMbsyncTest(StratusTestCase):
    """mbsync pulls a 200-message mailbox into a Maildir with no error; a
    second run transfers nothing."""

    def run_mbsync(self, work):
        r = subprocess.run(["mbsync", "-V", "-c", os.path.join(work, "mbsyncrc"), "-a"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout + r.stderr

    def test_mbsync_200_messages(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login("user1@example.com", "pass1")
        m.create("Sync")
        for i in range(200):
            self.assertEqual(m.append("Sync", None, None, msg(i))[0], "OK")
        m.logout()
        work = tempfile.mkdtemp(prefix="mbsync-")
        try:
            os.makedirs(os.path.join(work, "local"))
            with open(os.path.join(work, "mbsyncrc"), "w") as f:
                f.write(f"""IMAPAccount test
Host 127.0.0.1
Port {self.stratus.ports['imap']}
User user1@example.com
Pass pass1
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path {work}/local/
Inbox {work}/local/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Create Both
SyncState *
""")
            out = self.run_mbsync(work)
            files = os.listdir(os.path.join(work, "local", "Sync", "cur")) + \
                os.listdir(os.path.join(work, "local", "Sync", "new"))
            self.assertEqual(len(files), 200, out)
            out = self.run_mbsync(work)
            # nothing transferred either way: the same Maildir files
            # (names carry UIDs and flags) and still 200 on the server
            files2 = os.listdir(os.path.join(work, "local", "Sync", "cur")) + \
                os.listdir(os.path.join(work, "local", "Sync", "new"))
            self.assertEqual(sorted(files2), sorted(files), out)
            m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
            m.login("user1@example.com", "pass1")
            self.assertIn(b"MESSAGES 200", m.status("Sync", "(MESSAGES)")[1][0])
            m.logout()
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
