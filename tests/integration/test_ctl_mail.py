"""stratusctl's doveadm mail verbs against a real service set: mailbox
list|status|create|delete|rename with -u, -A and --json; fetch of fields
by a search query (flags set over IMAP, headers decided by svc-index or
checked against the body from svc-blob, the full text as delivered over
LMTP); expunge by query (the IMAP session sees the message gone, its
object is deleted from storage); index status|rebuild; metacache
list|flush|clean|unload; fs stat|iter|delete|stats under doveadm's names; sieve list|put|get
with -u/-A;
a clear error when a service is down."""

import imaplib
import json
import smtplib
import unittest

from stratus_harness import SANITIZER_RE, Stratus, main

USERS = {"mail1@example.com": "pass1", "mail2@example.com": "pass2"}
U1 = "mail1@example.com"
MSGS = [
    "From: Alice <alice@example.net>\r\nSubject: hello world\r\nX-Tag: red\r\n\r\nfirst body\r\n",
    "From: Bob <bob@example.net>\r\nSubject: goodbye\r\nX-Tag: blue\r\n\r\nsecond body\r\n",
    "From: Carol <carol@example.net>\r\nSubject: hello again\r\nX-Tag: blue\r\n\r\nthird body\r\n",
]


class CtlMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # the second user's userdb is the passwd-file, so -A can iterate it
        cls.stratus = Stratus(users=USERS, auth_config="")
        users = cls.stratus.users_file
        d = cls.stratus.dir
        with open(users, "w") as f:
            for u, p in USERS.items():
                f.write("%s:{PLAIN}%s::::%s/home/%s::\n" % (u, p, d, u))
        auth = """passdb {
  driver = passwd-file
  args = scheme=PLAIN %s
}
userdb {
  driver = passwd-file
  args = %s
}
""" % (users, users)
        with open(cls.stratus.config) as f:
            text = f.read()
        with open(cls.stratus.config, "w") as f:
            f.write(text.replace("\n\nplugin {", "\n" + auth + "\nplugin {", 1))
        cls.stratus.start()
        with smtplib.LMTP("127.0.0.1", cls.stratus.ports["lmtp"]) as l:
            # one recipient per transaction: smtplib reads one reply to DATA
            for m in MSGS:
                for u in USERS:
                    l.sendmail("a@example.net", [u], m)

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def ctl(self, *args, **kw):
        return self.stratus.ctl(*args, **kw)

    def test_1_mailbox_verbs(self):
        self.ctl("mailbox", "create", "-u", U1, "Work", "Work/Old")
        self.assertEqual(self.ctl("mailbox", "list", "-u", U1).stdout.split(),
                         ["INBOX", "Work", "Work/Old"])
        self.ctl("mailbox", "rename", "-u", U1, "Work/Old", "Archive")
        self.assertEqual(sorted(self.ctl("mailbox", "list", "-u", U1, "W*", "A*").stdout.split()),
                         ["Archive", "Work"])
        self.ctl("mailbox", "delete", "-u", U1, "Archive", "Work")
        self.assertEqual(self.ctl("mailbox", "list", "-u", U1).stdout.split(), ["INBOX"])
        # -A: a user column; --json: one array
        lines = self.ctl("mailbox", "list", "-A").stdout.splitlines()
        self.assertEqual(lines, ["mail1@example.com INBOX", "mail2@example.com INBOX"])
        rows = json.loads(self.ctl("mailbox", "status", "--json", "-A", "messages unseen guid",
                                   "INBOX").stdout)
        self.assertEqual([(r["user"], r["mailbox"], r["messages"], r["unseen"]) for r in rows],
                         [(U1, "INBOX", 3, 3), ("mail2@example.com", "INBOX", 3, 3)])
        self.assertEqual(len(rows[0]["guid"]), 32)
        out = self.ctl("mailbox", "status", "-u", U1, "messages uidnext", "INBOX").stdout
        self.assertEqual(out, "INBOX messages=3 uidnext=4\n")
        r = self.ctl("mailbox", "delete", "-u", U1, "Nope", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("NOT_FOUND", r.stderr)

    def test_2_fetch(self):
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        c.login(U1, USERS[U1])
        c.select("INBOX")
        c.store("2", "+FLAGS", "\\Seen \\Flagged")
        c.logout()
        out = self.ctl("fetch", "-u", U1, "uid flags", "mailbox", "INBOX", "seen").stdout
        self.assertEqual(out, "uid: 2\nflags: \\Seen \\Flagged\n")
        out = self.ctl("fetch", "-u", U1, "uid", "mailbox", "INBOX", "unseen").stdout
        self.assertEqual(out, "uid: 1\n\f\nuid: 3\n")
        # a header svc-index has cached or not: X-Tag is read from the body
        rows = json.loads(self.ctl("fetch", "--json", "-u", U1, "uid mailbox seq size.virtual",
                                   "mailbox", "INBOX", "header", "X-Tag", "blue",
                                   "subject", "hello").stdout)
        # LMTP added its trace headers in front of the delivered message
        self.assertGreater(rows[0].pop("size.virtual"), len(MSGS[2]))
        self.assertEqual(rows, [{"user": U1, "mailbox": "INBOX", "uid": 3, "seq": 3}])
        rows = json.loads(self.ctl("fetch", "--json", "-u", U1, "uid text hdr body",
                                   "mailbox", "INBOX", "uid", "1").stdout)
        self.assertEqual(rows[0]["text"], rows[0]["hdr"] + rows[0]["body"])
        self.assertTrue(rows[0]["text"].endswith(MSGS[0].split("\r\n\r\n", 1)[1]))
        self.assertIn("Subject: hello world", rows[0]["hdr"])
        self.assertEqual(rows[0]["body"], "first body\r\n")
        # every user, by size and age
        rows = json.loads(self.ctl("fetch", "--json", "-A", "user uid", "mailbox", "*",
                                   "larger", "1", "since", "1d", "not", "flagged").stdout)
        self.assertEqual([(r["user"], r["uid"]) for r in rows],
                         [(U1, 1), (U1, 3), ("mail2@example.com", 1),
                          ("mail2@example.com", 2), ("mail2@example.com", 3)])
        r = self.ctl("fetch", "-u", U1, "uid", "bogus", "x", check=False)
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown search key bogus", r.stderr)

    def uids(self, *query):
        out = self.ctl("fetch", "-u", U1, "uid", "mailbox", "INBOX", *query).stdout
        return [int(x) for x in out.replace("uid: ", "").split("\n\f\n") if x.strip()]

    def test_2b_query_or_not_body_text(self):
        # message 2 is \Seen \Flagged (test_2); bodies come from svc-blob
        self.assertEqual(self.uids("body", "third"), [3])
        self.assertEqual(self.uids("body", "Alice"), [])           # a header, not the body
        self.assertEqual(self.uids("text", "Alice"), [1])          # TEXT is header and body
        self.assertEqual(self.uids("text", "second body"), [2])
        self.assertEqual(self.uids("seen", "OR", "body", "first"), [1, 2])
        self.assertEqual(self.uids("(", "subject", "goodbye", "OR", "body", "third", ")",
                                   "not", "seen"), [3])
        self.assertEqual(self.uids("not", "body", "first"), [2, 3])
        self.assertEqual(self.uids("not", "(", "header", "X-Tag", "blue", ")"), [1])
        self.assertEqual(self.uids("not", "(", "flagged", "OR", "text", "carol", ")"), [1])
        for bad in (["seen", "OR"], ["OR", "flagged"], ["(", "seen"], ["seen", ")"], ["(", ")"],
                    ["(", "mailbox", "INBOX", ")"], ["sentsince", "3d"]):
            r = self.ctl("fetch", "-u", U1, "uid", "mailbox", "INBOX", *bad, check=False)
            self.assertEqual(r.returncode, 64, bad)

    def test_3_expunge(self):
        u = "mail2@example.com"
        before = len(self.ctl("fs", "iter", u).stdout.splitlines())
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        c.login(u, USERS[u])
        c.select("INBOX")
        r = self.ctl("expunge", "-u", u, "subject", "goodbye", check=False)
        self.assertEqual(r.returncode, 64)  # no mailbox named
        out = self.ctl("expunge", "-u", u, "mailbox", "INBOX", "subject", "goodbye").stdout
        self.assertEqual(out, "mail2@example.com INBOX expunged=1\n")
        c.noop()
        self.assertEqual(c.response("EXPUNGE")[1], [b"2"])
        self.assertEqual(c.search(None, "ALL")[1][0].split(), [b"1", b"2"])
        c.logout()
        self.assertEqual(len(self.ctl("fs", "iter", u).stdout.splitlines()), before - 1)
        self.assertEqual(self.ctl("expunge", "-u", u, "mailbox", "INBOX", "subject",
                                  "goodbye").stdout, "")
        # by OR, NOT and body: "hello again" (third body) goes, "hello world" stays
        out = self.ctl("expunge", "-u", u, "mailbox", "INBOX",
                       "not", "body", "first", "OR", "body", "no-such-text").stdout
        self.assertEqual(out, "mail2@example.com INBOX expunged=1\n")
        rows = json.loads(self.ctl("fetch", "--json", "-u", u, "uid body", "mailbox", "INBOX",
                                   "all").stdout)
        self.assertEqual([r["body"] for r in rows], ["first body\r\n"])

    def test_4_index_and_metacache(self):
        rows = json.loads(self.ctl("index", "status", "--json", "-u", U1).stdout)
        self.assertEqual(rows[0]["user"], U1)
        self.assertEqual(rows[0]["cached"], "yes")
        self.assertGreaterEqual(rows[0]["mailboxes"], 1)
        self.assertIn("rebuild users=1", self.ctl("index", "rebuild", "-u", U1).stdout)
        self.assertIn("flush users=", self.ctl("metacache", "flush", "-A").stdout)
        rows = json.loads(self.ctl("metacache", "list", "--json").stdout)
        self.assertIn(U1, [r["user"] for r in rows])
        self.assertIn("unload users=1", self.ctl("metacache", "unload", "-u", U1).stdout)
        out = self.ctl("metacache", "list", "-u", U1).stdout
        self.assertTrue(out.startswith(U1 + " cached=no"), out)
        # the user comes back from storage on the next access
        out = self.ctl("mailbox", "status", "-u", U1, "messages", "INBOX").stdout
        self.assertEqual(out, "INBOX messages=3\n")
        self.assertEqual(self.ctl("metacache", "unload", check=False).returncode, 64)

    def test_5_fs_doveadm_names(self):
        keys = self.ctl("fs", "iter", U1).stdout.split("\n")[0].split()
        self.assertTrue(keys)
        self.assertIn("size ", self.ctl("fs", "stat", U1, keys[0]).stdout)
        stats = json.loads(self.ctl("fs", "stats", "--json").stdout)
        self.assertIsInstance(stats, dict)
        self.assertTrue(stats)
        self.ctl("fs", "put", U1, "ctl-test/x", "/etc/hostname")
        self.assertIn("deleted 1", self.ctl("fs", "delete", U1, "ctl-test/x").stdout)

    def test_55_sieve_doveadm_form(self):
        script = self.stratus.dir + "/s.sieve"
        with open(script, "w") as f:
            f.write('require "fileinto";\nfileinto "Junk";\n')
        self.ctl("sieve", "put", "-a", "-u", U1, "filter", script)
        self.ctl("sieve", "put", "-u", "mail2@example.com", "other", script)
        self.assertEqual(self.ctl("sieve", "list", "-u", U1).stdout, "filter ACTIVE\n")
        self.assertEqual(self.ctl("sieve", "list", "-A").stdout,
                         "mail1@example.com:\nfilter ACTIVE\nmail2@example.com:\nother\n")
        self.assertIn("fileinto", self.ctl("sieve", "get", "-u", U1, "filter").stdout)

    def test_6_service_down(self):
        st = Stratus(users=USERS)
        try:
            r = st.ctl("mailbox", "list", "-u", U1, check=False)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"index MailboxList: .*is stratus-index running\?")
            r = st.ctl("mailbox", "list", "-A", check=False)
            self.assertRegex(r.stderr, r"auth UserList: .*is stratus-auth running\?")
        finally:
            st.cleanup()


if __name__ == "__main__":
    main()
