"""stratusctl user and who, as doveadm user and who: `user '*'` lists every userdb in
order (a passwd-file userdb first, then an LDAP userdb behind it on a
real slapd), masks, `user USER` falling through to the second userdb,
--json output parsed with the json module, `who` listing real IMAP and
POP3 sessions per user, protocol and IP, and a clear error when
svc-auth is not running; `auth lookup` asks the passdbs in order."""

import imaplib
import json
import os
import poplib
import re
import time
import unittest

from slapd_harness import Slapd
from stratus_harness import SANITIZER_RE, Stratus, main

LOCAL = {"local1@example.org": "lpass1", "local2@example.org": "lpass2"}


class CtlUserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd().start()
        conf = cls.slapd.ldap_conf(os.path.join(cls.slapd.dir, "dovecot-ldap.conf.ext"),
                                   iterate_filter="(objectClass=smiMessageRecipient)")
        cls.stratus = Stratus(users=LOCAL, auth_config="")
        users = cls.stratus.users_file
        auth = f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users}
}}
passdb {{
  args = {conf}
  driver = ldap
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  args = {conf}
  driver = ldap
}}"""
        with open(cls.stratus.config) as f:
            text = f.read()
        with open(cls.stratus.config, "w") as f:
            f.write(text.replace("\n\nplugin {", "\n" + auth + "\nplugin {", 1))
        cls.stratus.start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        cls.slapd.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def test_star_iterates_every_userdb_in_order(self):
        users = self.stratus.ctl("user", "*").stdout.split()
        self.assertEqual(users, ["local1@example.org", "local2@example.org"] +
                         sorted(users[2:]))
        self.assertEqual(sorted(users[2:]), ["user1@example.com", "user2@example.com",
                                             "user3@example.com"])
        # the older name gives the same list
        self.assertEqual(self.stratus.ctl("user", "list").stdout.split(), users)

    def test_mask(self):
        users = self.stratus.ctl("user", "user?@example.com").stdout.split()
        self.assertEqual(sorted(users), ["user1@example.com", "user2@example.com",
                                         "user3@example.com"])
        self.assertEqual(self.stratus.ctl("user", "*@example.org").stdout.split(),
                         ["local1@example.org", "local2@example.org"])

    def test_json(self):
        rows = json.loads(self.stratus.ctl("user", "--json", "*").stdout)
        self.assertEqual([r["user"] for r in rows][:2], ["local1@example.org", "local2@example.org"])
        self.assertEqual(len(rows), 5)
        rows = json.loads(self.stratus.ctl("user", "--json", "user2@example.com").stdout)
        fields = {r["field"]: r["value"] for r in rows}
        self.assertEqual(fields["user"], "user2@example.com")
        self.assertEqual(fields["quota_rule"], "*:storage=2048")

    def test_user_lookup_falls_through_to_ldap(self):
        out = self.stratus.ctl("user", "local1@example.org").stdout
        self.assertIn("user\tlocal1@example.org", out)
        out = self.stratus.ctl("user", "user3@example.com").stdout
        self.assertRegex(out, r"(?m)^field\tvalue$")
        self.assertIn("quota_rule\t*:storage=3072", out)
        r = self.stratus.ctl("user", "ghost@example.com", check=False)
        self.assertEqual(r.returncode, 67, r.stdout + r.stderr)
        self.assertIn("doesn't exist", r.stderr)

    def test_auth_lookup_passdbs_in_order(self):
        out = self.stratus.ctl("auth", "lookup", "local1@example.org").stdout
        self.assertEqual(out, "passdb: local1@example.org\n"
                              "  user      : local1@example.org\n"
                              "  password  : {PLAIN}lpass1\n")
        # behind the passwd-file: LDAP's pass_attrs, without a bind
        rows = json.loads(self.stratus.ctl("auth", "lookup", "--json", "user3@example.com").stdout)
        self.assertEqual(rows[0]["passdb"], "user3@example.com")
        fields = rows[0]["fields"]
        self.assertEqual(fields["userdb_quota_rule"], "*:storage=3072k")
        self.assertTrue(fields["password"].startswith("{"), fields)
        r = self.stratus.ctl("auth", "lookup", "ghost@example.com", check=False)
        self.assertEqual(r.returncode, 67, r.stdout + r.stderr)
        self.assertIn("passdb lookup: user ghost@example.com doesn't exist", r.stderr)

    def test_who(self):
        imaps = []
        for _ in range(2):
            c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
            c.login("local1@example.org", "lpass1")
            imaps.append(c)
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)
        p.user("user2@example.com")
        p.pass_("pass2")
        try:
            out = self.stratus.ctl("who").stdout
            self.assertRegex(out, r"(?m)^username\s+#\s+proto\s+\(ips\)$")
            self.assertRegex(out, r"(?m)^local1@example\.org\s+2 imap\s+\(127\.0\.0\.1\)$")
            self.assertRegex(out, r"(?m)^user2@example\.com\s+1 pop3\s+\(127\.0\.0\.1\)$")
            rows = json.loads(self.stratus.ctl("who", "--json", "local*").stdout)
            self.assertEqual(rows, [{"username": "local1@example.org", "connections": 2,
                                     "service": "imap", "ips": ["127.0.0.1"]}])
        finally:
            for c in imaps:
                c.logout()
            p.quit()
        deadline = time.time() + 10
        while "local1@example.org" in self.stratus.ctl("who").stdout and time.time() < deadline:
            time.sleep(0.1)
        self.assertNotIn("local1@example.org", self.stratus.ctl("who").stdout)

    def test_service_down_is_a_clear_error(self):
        down = os.path.join(self.stratus.dir, "down.conf")
        with open(self.stratus.config) as f:
            text = f.read()
        empty = os.path.join(self.stratus.dir, "empty-run")
        os.makedirs(empty, exist_ok=True)
        with open(down, "w") as f:
            f.write(re.sub(r"(?m)^base_dir = .*$", "base_dir = " + empty, text))
        r = self.stratus.ctl("-c", down, "user", "*", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is stratus-auth running?", r.stderr)
        self.assertEqual(r.stdout, "")
        r = self.stratus.ctl("-c", down, "who", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is stratus-auth running?", r.stderr)


if __name__ == "__main__":
    main()
