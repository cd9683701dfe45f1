"""Quota limits from LDAP (a real slapd) applied at LMTP delivery, with the
spec's configuration: passdb ldap whose pass_attrs prefetch
`userdb_quota_rule=*:storage=%{ldap:messageQuotaHard}k`, userdb prefetch,
then userdb ldap whose user_attrs give `quota_rule=*:storage=%{ldap:...}`
(a bare number is KiB). LMTP and svc-quota look users up without a
password, so prefetch has nothing for them and the ldap userdb answers, as
in Dovecot; an IMAP login goes through the prefetch fields."""

import imaplib
import os
import re
import smtplib
import unittest

from slapd_harness import Slapd
from stratus_harness import SANITIZER_RE, Stratus, main

KIB = 1024
# uid: (mailRoutingAddress, password, messageQuotaHard in KiB)
USERS = {
    "small": ("small@example.com", "pass1", 8),
    "large": ("large@example.com", "pass2", 64),
}


def message(size):
    head = b"From: a@example.org\r\nTo: x@example.com\r\nSubject: ldap quota\r\n\r\n"
    return head + (b"y" * 78 + b"\r\n") * ((size - len(head)) // 80)


class QuotaLdapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd(users=USERS).start()
        conf = cls.slapd.ldap_conf(os.path.join(cls.slapd.dir, "dovecot-ldap.conf.ext"),
                                   iterate_filter="(objectClass=smiMessageRecipient)")
        auth = f"""passdb {{
  args = {conf}
  driver = ldap
}}
userdb {{
  driver = prefetch
}}
userdb {{
  args = {conf}
  driver = ldap
}}"""
        extra = """mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_grace = 0
}
"""
        cls.stratus = Stratus(extra, auth_config=auth).start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        cls.slapd.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def deliver(self, user, msg):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            l.mail("a@example.org")
            code, text = l.rcpt(user)
            self.assertEqual(code, 250, text)
            try:
                return l.data(msg)
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error

    def limit(self, user):
        out = self.stratus.ctl("quota", "get", user).stdout
        m = re.search(r"STORAGE\t\d+\t(\d+)\t\d+\t(\d+)", out)
        self.assertIsNotNone(m, out)
        return int(m.group(1)), int(m.group(2))

    def test_limit_from_ldap_refuses_at_lmtp(self):
        user = USERS["small"][0]
        self.assertEqual(self.limit(user), (8, 8 * KIB))
        # 3 KiB messages: two fit under 8 KiB, the third is refused.
        for _ in range(2):
            code, text = self.deliver(user, message(3 * KIB))
            self.assertEqual(code, 250, text)
        code, text = self.deliver(user, message(3 * KIB))
        self.assertEqual(code, 552, text)
        self.assertTrue(text.startswith(b"5.2.2 "), text)
        # The searches came from svc-quota's and LMTP's userdb lookups.
        self.assertTrue(self.slapd.searches_for("mailRoutingAddress=small@example.com"))

    def test_each_user_has_its_own_ldap_limit(self):
        user = USERS["large"][0]
        self.assertEqual(self.limit(user), (64, 64 * KIB))
        for _ in range(3):
            code, text = self.deliver(user, message(3 * KIB))
            self.assertEqual(code, 250, text)

    def test_imap_login_prefetch_fields_carry_the_same_rule(self):
        r = self.stratus.ctl("auth", "test", USERS["small"][0], "pass1")
        self.assertIn("userdb_quota_rule=*:storage=8k", r.stdout)
        imap = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        imap.login(USERS["small"][0], "pass1")
        imap.select("INBOX")
        imap.logout()
        self.assertEqual(self.limit(USERS["small"][0]), (8, 8 * KIB))


if __name__ == "__main__":
    main()
