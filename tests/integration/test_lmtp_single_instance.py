"""Single instance for multi-recipient LMTP (issue #15), end to end with
the real service set on posix storage:
- one LMTP transaction to 10 users makes exactly one object PUT
  (svc-blob's request counters), one object file, no Delivered-To;
- every recipient reads it (POP3 RETR, IMAP FETCH);
- each user's quota counts the message;
- POP3 DELE by 9 of them keeps the object for the 10th; the 10th deletes
  it (and the release markers);
- a recipient refused by its quota gives its reference back, so the
  others' expunges still delete the object."""

import imaplib
import os
import poplib
import re
import socket
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus

USERS = ["si%02d@example.com" % i for i in range(10)]
TINY = "tiny@example.com"  # a 1 KB quota: refuses the message


def body(tag, size=20000):
    filler = (b"single instance line for the body of the message\r\n" *
              (size // 51 + 1))[:size]
    return (b"From: a@example.org\r\nTo: list@example.com\r\n"
            b"Message-ID: <%s@example.org>\r\nSubject: %s\r\n\r\n" % (tag, tag)
            + filler + b"end\r\n")


def puts(st):
    out = st.ctl("fs", "stats").stdout
    return int(re.search(r"^put_2xx (\d+)$", out, re.M).group(1))


def files_under(st):
    root = os.path.join(st.dir, "objects")
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]


def shared_objects(st):
    return [p for p in files_under(st)
            if re.search(r"/[0-9a-f]{32}\.sis\d+\.[^/]+$", p) and
            "/sis-released/" not in p]


def release_markers(st):
    return [p for p in files_under(st) if "/sis-released/" in p]


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("connection closed; got %r" % lines)
        lines.append(line.decode())
        if line[3:4] != b"-":
            return "".join(lines)


def lmtp_send(st, rcpts, msg):
    """One transaction to rcpts; the per-recipient DATA replies."""
    s = socket.create_connection(("127.0.0.1", st.ports["lmtp"]), 20)
    f = s.makefile("rb")
    with s:
        read_reply(f)
        s.sendall(b"LHLO x\r\n")
        read_reply(f)
        s.sendall(b"MAIL FROM:<a@example.org>\r\n")
        assert read_reply(f).startswith("250")
        for r in rcpts:
            s.sendall(b"RCPT TO:<%s>\r\n" % r.encode())
            assert read_reply(f).startswith("250"), r
        s.sendall(b"DATA\r\n")
        assert read_reply(f).startswith("354")
        s.sendall(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        replies = [read_reply(f) for _ in rcpts]
        s.sendall(b"QUIT\r\n")
    return replies


def wait_for(cond, timeout=5.0):
    deadline = time.time() + timeout
    while not cond() and time.time() < deadline:
        time.sleep(0.05)
    return cond()


class SingleInstanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        st = cls.st = Stratus(users={u: "pw" for u in USERS + [TINY]})
        users_file = os.path.join(st.dir, "users-quota")
        with open(users_file, "w") as f:
            for u in USERS:
                f.write("%s:{PLAIN}pw::::::\n" % u)
            f.write("%s:{PLAIN}pw::::::userdb_quota_rule=*:storage=1k\n" % TINY)
        with open(st.config) as f:
            conf = f.read()
        conf = conf.replace("userdb {\n  driver = static",
                            "userdb {\n  driver = passwd-file\n  args = %s\n}\n"
                            "userdb {\n  driver = static" % users_file, 1)
        with open(st.config, "w") as f:
            f.write(conf)
            f.write("""
mail_fsync = never
mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_vsizes = yes
  # no index bundle upload during the test: PUTs are mail objects only
  metacache_delay_uploads = yes
  metacache_upload_interval = 1h
  obox_max_rescan_mail_count = 1000
}
""")
        st.start()
        for u in USERS + [TINY]:  # INBOX and its marker object exist first
            st.ctl("mailbox", "status", u, "INBOX")

    @classmethod
    def tearDownClass(cls):
        text = cls.st.cleanup()
        if SANITIZER_RE.search(text):
            raise AssertionError(text[-4000:])

    def pop3(self, user):
        p = poplib.POP3("127.0.0.1", self.st.ports["pop3"], timeout=10)
        p.user(user)
        p.pass_("pw")
        return p

    def retr_last(self, user):
        p = self.pop3(user)
        try:
            n = p.stat()[0]
            self.assertGreater(n, 0, user)
            return b"\r\n".join(p.retr(n)[1]) + b"\r\n"
        finally:
            p.quit()

    def dele_all(self, user):
        p = self.pop3(user)
        for i in range(1, p.stat()[0] + 1):
            p.dele(i)
        p.quit()

    def usage(self, user):
        time.sleep(1.1)  # past svc-quota's usage TTL
        out = self.st.ctl("quota", "get", user).stdout
        m = re.search(r"STORAGE\t(\d+)\t(\d+)\t(\d+)", out)
        n = re.search(r"MESSAGE\t(\d+)", out)
        self.assertIsNotNone(m, out)
        return int(m.group(3)), int(n.group(1))

    def test_ten_recipients_one_put_refcounted_expunge(self):
        st, msg = self.st, body(b"ten")
        time.sleep(0.3)
        base = puts(st)
        before = set(shared_objects(st))
        replies = lmtp_send(st, USERS, msg)
        for u, r in zip(USERS, replies):
            self.assertRegex(r, r"^250 2\.0\.0 <%s> " % re.escape(u))
        time.sleep(0.3)
        self.assertEqual(puts(st) - base, 1, "one PUT for 10 recipients")
        objs = [p for p in shared_objects(st) if p not in before]
        self.assertEqual(len(objs), 1, objs)
        self.assertIn(".sis10.", objs[0])
        with open(objs[0], "rb") as f:
            stored = f.read()
        self.assertTrue(stored.endswith(msg))
        # with several recipients the trace headers name none (Dovecot)
        self.assertNotIn(b"Delivered-To:", stored[:len(stored) - len(msg)])
        self.assertNotIn(b"\tfor <", stored)

        for u in USERS:  # each recipient reads the same message
            self.assertEqual(self.retr_last(u), stored, u)
        im = imaplib.IMAP4("127.0.0.1", st.ports["imap"])
        im.login(USERS[-1], "pw")
        im.select("INBOX")
        typ, data = im.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], stored)
        im.logout()
        for u in USERS[:2]:  # each user's quota counts it
            used, messages = self.usage(u)
            self.assertGreaterEqual(used, len(msg), u)
            self.assertEqual(messages, 1, u)

        for i, u in enumerate(USERS[:9]):  # 9 expunges keep it
            self.dele_all(u)
            self.assertTrue(wait_for(lambda: len(release_markers(st)) == i + 1))
            self.assertTrue(os.path.exists(objs[0]), u)
        self.assertEqual(self.retr_last(USERS[9]), stored)
        self.assertEqual(self.usage(USERS[0]), (0, 0))
        self.dele_all(USERS[9])  # the last one deletes it
        self.assertTrue(wait_for(lambda: not os.path.exists(objs[0])),
                        "the 10th expunge deletes the object")
        self.assertTrue(wait_for(lambda: release_markers(st) == []),
                        release_markers(st))
        st.wait_log(r"shared object .* deleted: all 10 users released it")

    def test_refused_recipient_gives_its_reference_back(self):
        st, msg = self.st, body(b"quota")
        rcpts = [USERS[0], TINY, USERS[1]]
        before = set(shared_objects(st))
        replies = lmtp_send(st, rcpts, msg)
        self.assertRegex(replies[0], r"^250 ")
        self.assertRegex(replies[1], r"^552 5\.2\.2 ")
        self.assertRegex(replies[2], r"^250 ")
        objs = [p for p in shared_objects(st) if p not in before]
        self.assertEqual(len(objs), 1, objs)
        self.assertIn(".sis3.", objs[0])
        # the refused user's release is written when the transaction ends
        self.assertTrue(wait_for(lambda: len(release_markers(st)) == 1),
                        release_markers(st))
        self.dele_all(USERS[0])
        self.assertTrue(os.path.exists(objs[0]))
        self.dele_all(USERS[1])
        self.assertTrue(wait_for(lambda: not os.path.exists(objs[0])),
                        "released by all 3 users")
        self.assertTrue(wait_for(lambda: release_markers(st) == []))


if __name__ == "__main__":
    unittest.main()
