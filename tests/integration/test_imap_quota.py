"""IMAP QUOTA (RFC 9208) in svc-imap with `imap_quota`: capabilities,
GETQUOTAROOT/GETQUOTA against limits from passwd-file userdb fields, the
numbers moving after APPEND/EXPUNGE, SETQUOTA refused, STATUS DELETED /
DELETED-STORAGE / SIZE, and the commands absent without the plugin."""

import imaplib
import re
import unittest

from stratus_harness import Stratus, StratusTestCase, main

BOTH = "both@example.com"          # storage and message limits
STORAGE_ONLY = "storage@example.com"
UNLIMITED = "free@example.com"
QUOTA_CONFIG = """
mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = count:User quota
  quota_vsizes = no
}
"""


def message(n, size):
    head = (b"From: sender%d@example.org\r\nSubject: quota %d\r\n"
            b"Message-ID: <q%d@example.org>\r\n\r\n" % (n, n, n))
    body = b"x" * 78 + b"\r\n"
    out = head + body * ((size - len(head)) // len(body))
    return out + b"y" * (size - len(out))


def with_userdb_fields(st, lines):
    """Rewrites the users file with extra fields and puts a passwd-file
    userdb in front of the static one, as test_quota does."""
    with open(st.users_file, "w") as f:
        f.write("".join(lines))
    with open(st.config) as f:
        conf = f.read()
    conf = conf.replace("userdb {\n  driver = static",
                        "userdb {\n  driver = passwd-file\n  args = %s\n}\n"
                        "userdb {\n  driver = static" % st.users_file, 1)
    with open(st.config, "w") as f:
        f.write(conf)


class ImapQuotaTest(StratusTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stratus = st = Stratus(extra=QUOTA_CONFIG)
        with_userdb_fields(st, [
            "%s:{PLAIN}pass::::::userdb_quota_rule=*:storage=100k:messages=5\n" % BOTH,
            "%s:{PLAIN}pass::::::userdb_quota_rule=*:storage=64k\n" % STORAGE_ONLY,
            "%s:{PLAIN}pass::::::\n" % UNLIMITED,
        ])
        st.start()

    def login(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, "pass")
        return m

    def status(self, m, box, items):
        """STATUS items as a dict (RFC 3501 sets no order for them)."""
        typ, data = m.status(box, items)
        self.assertEqual(typ, "OK", data)
        inner = re.match(rb"^\S+ \((.*)\)$", data[0]).group(1).split()
        return {inner[i].decode(): int(inner[i + 1]) for i in range(0, len(inner), 2)}

    def quotaroot(self, m, box="INBOX"):
        typ, data = m.getquotaroot(box)
        self.assertEqual(typ, "OK", data)
        roots, quotas = data
        return roots, quotas

    def test_capabilities(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        self.assertNotIn("QUOTA", m.capabilities)   # not before login
        m.login(BOTH, "pass")
        typ, data = m.capability()
        caps = data[0].split()
        for c in (b"QUOTA", b"QUOTA=RES-STORAGE", b"QUOTA=RES-MESSAGE"):
            self.assertIn(c, caps)
        self.assertNotIn(b"QUOTASET", caps)
        m.logout()

    def test_getquotaroot_limits_from_userdb(self):
        m = self.login(BOTH)
        roots, quotas = self.quotaroot(m)
        self.assertEqual(roots, [b'INBOX "User quota"'])
        self.assertEqual(quotas, [b'"User quota" (STORAGE 0 100 MESSAGE 0 5)'])
        m.logout()

    def test_only_limited_resources_are_listed(self):
        m = self.login(STORAGE_ONLY)
        roots, quotas = self.quotaroot(m)
        self.assertEqual(quotas, [b'"User quota" (STORAGE 0 64)'])
        typ, data = m.getquota('"User quota"')
        self.assertEqual((typ, data), ("OK", [b'"User quota" (STORAGE 0 64)']))
        m.logout()

    def test_no_limit_no_quota_line(self):
        m = self.login(UNLIMITED)
        typ, data = m._simple_command("GETQUOTAROOT", "INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("QUOTAROOT"), [b'INBOX "User quota"'])
        self.assertNotIn("QUOTA", m.untagged_responses)
        m.logout()

    def test_numbers_move_after_append_and_expunge(self):
        m = self.login(BOTH)
        self.assertEqual(m.create("Work")[0], "OK")
        sizes = [3000, 5000]
        for i, size in enumerate(sizes):
            self.assertEqual(m.append("Work", None, None, message(i, size))[0], "OK")
        roots, quotas = self.quotaroot(m, "Work")
        self.assertEqual(roots, [b'Work "User quota"'])
        self.assertEqual(quotas, [b'"User quota" (STORAGE %d 100 MESSAGE 2 5)'
                                  % (sum(sizes) // 1024)])

        # STATUS DELETED / DELETED-STORAGE (RFC 9208 4.2) and SIZE.
        m.select("Work")
        m.store("2", "+FLAGS", r"(\Deleted)")
        self.assertEqual(self.status(m, "Work", "(MESSAGES DELETED DELETED-STORAGE SIZE)"),
                         {"MESSAGES": 2, "DELETED": 1, "DELETED-STORAGE": 5,
                          "SIZE": sum(sizes)})

        self.assertEqual(m.expunge()[0], "OK")
        roots, quotas = self.quotaroot(m, "Work")
        self.assertEqual(quotas, [b'"User quota" (STORAGE 2 100 MESSAGE 1 5)'])
        self.assertEqual(self.status(m, "Work", "(DELETED DELETED-STORAGE)"),
                         {"DELETED": 0, "DELETED-STORAGE": 0})

        # Over the message limit: APPEND is refused with [OVERQUOTA] and
        # the usage stays where it was.
        for i in range(4):
            m.append("Work", None, None, message(10 + i, 100))
        typ, data = m.append("Work", None, None, message(20, 100))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        roots, quotas = self.quotaroot(m, "Work")
        self.assertRegex(quotas[0], rb'MESSAGE 5 5\)$')
        m.store("1:*", "+FLAGS", r"(\Deleted)")
        m.expunge()
        roots, quotas = self.quotaroot(m, "Work")
        self.assertEqual(quotas, [b'"User quota" (STORAGE 0 100 MESSAGE 0 5)'])
        m.logout()

    def test_getquota_unknown_root_and_setquota(self):
        m = self.login(BOTH)
        typ, data = m.getquota('"User quota"')
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb'^"User quota" \(STORAGE \d+ 100 MESSAGE \d+ 5\)$')
        typ, data = m.getquota("nosuchroot")
        self.assertEqual(typ, "NO")
        self.assertIn(b"doesn't exist", data[0])
        typ, data = m.setquota('"User quota"', "(STORAGE 1000)")
        self.assertEqual(typ, "NO")
        with self.assertRaises(imaplib.IMAP4.error):
            m._simple_command("SETQUOTA", '"User quota"', "STORAGE")
        with self.assertRaises(imaplib.IMAP4.error):
            m._simple_command("GETQUOTA")
        # an invalid mailbox name: a clear NO, the session goes on
        typ, data = m.getquotaroot("&Jjo")
        self.assertEqual(typ, "NO")
        self.assertEqual(m.noop()[0], "OK")
        m.logout()

    def test_plugin_not_reported_as_missing(self):
        log = self.stratus.read_log()
        self.assertNotIn("mail_plugins: imap_quota is accepted but not", log)

    def test_status_deleted_of_missing_mailbox(self):
        m = self.login(BOTH)
        typ, data = m.status("NoSuchBox", "(DELETED)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"NONEXISTENT", data[0])
        m.logout()


class ImapWithoutQuotaPluginTest(StratusTestCase):
    """quota on, imap_quota off: no capability, commands unknown."""
    extra_config = """
mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=1M
}
"""

    def test_commands_absent(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login("user1@example.com", "pass1")
        typ, data = m.capability()
        self.assertNotIn(b"QUOTA", data[0].split())
        for cmd in (("GETQUOTAROOT", "INBOX"), ("GETQUOTA", '""')):
            with self.assertRaises(imaplib.IMAP4.error) as e:
                m._simple_command(*cmd)
            self.assertIn("Unknown command", str(e.exception))
        # DELETED is IMAP4rev2's own STATUS item (RFC 9051 6.3.11), so it
        # stays; DELETED-STORAGE is RFC 9208's only.
        typ, data = m.status("INBOX", "(DELETED)")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"\(DELETED \d+\)")
        with self.assertRaises(imaplib.IMAP4.error):
            m.status("INBOX", "(DELETED-STORAGE)")
        m.logout()


if __name__ == "__main__":
    main()
