"""svc-auth against a real OpenLDAP slapd with the spec's configuration:
passdb ldap (auth_bind = yes, blocking = yes, pass_attrs normalising the
user and prefetching userdb_quota_rule), userdb prefetch then userdb
ldap (user_attrs), iterate_filter, auth_cache_size, the spec's
penalty-off anvil block. slapd runs with `-d stats`, so the tests count
the searches each login costs; it is stopped and started again to show
temporary failures and recovery without restarting svc-auth."""

import os
import re
import time
import unittest

from slapd_harness import Slapd
from stratus_harness import SANITIZER_RE, Stratus, main


class LdapAuthTest(unittest.TestCase):
    EXTRA = """auth_cache_size = 100M
auth_failure_delay = 0
auth_username_format = %u
auth_username_chars =
login_trusted_networks = 10.0.0.0/24
mail_max_userip_connections = 10
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
"""

    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd().start()
        # The spec's iterate_filter has a stray space after '=' that LDAP
        # compares literally (svc-auth warns); the tests use it corrected.
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
        cls.stratus = Stratus(cls.EXTRA, auth_config=auth).start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        cls.slapd.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def setUp(self):
        if self.slapd.proc is None:
            self.slapd.start()
        self.stratus.ctl("auth", "cache", "flush")

    def auth(self, *args, check=None):
        r = self.stratus.ctl("auth", "test", *args, check=False)
        if check is not None:
            self.assertEqual(r.returncode, check, r.stdout + r.stderr)
        return r

    def counters(self):
        out = self.stratus.ctl("status", "auth").stdout
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}

    def test_auth_bind_success_and_failure(self):
        r = self.auth("user1@example.com", "pass1", check=0)
        self.assertIn("passdb: user1@example.com auth succeeded", r.stdout)
        self.assertIn("userdb_quota_rule=*:storage=1024k", r.stdout)
        self.auth("user1@example.com", "wrong", check=77)
        # an empty password would be an anonymous bind: never accepted
        self.auth("user1@example.com", "", check=77)
        self.auth("nobody@example.com", "pass1", check=77)

    def test_user_name_normalised_to_mail_routing_address(self):
        r = self.auth("User2@EXAMPLE.com", "pass2", check=0)
        self.assertIn("passdb: user2@example.com auth succeeded", r.stdout)

    def test_prefetch_costs_one_search_per_login(self):
        before, c0 = self.slapd.search_count(), self.counters()
        self.auth("user3@example.com", "pass3", check=0)
        time.sleep(0.2)
        self.assertEqual(self.slapd.search_count() - before, 1)
        c1 = self.counters()
        self.assertEqual(c1["ldap_searches"] - c0["ldap_searches"], 1)
        self.assertEqual(c1["ldap_binds"] - c0["ldap_binds"], 1)

    def test_cache_hit_needs_no_search(self):
        self.auth("user1@example.com", "pass1", check=0)
        before, c0 = self.slapd.search_count(), self.counters()
        r = self.auth("user1@example.com", "pass1", check=0)
        self.assertIn("userdb_quota_rule=*:storage=1024k", r.stdout)
        time.sleep(0.2)
        self.assertEqual(self.slapd.search_count(), before)
        c1 = self.counters()
        self.assertGreaterEqual(c1["cache_hits"] - c0["cache_hits"], 1, (c0, c1))
        self.assertEqual(c1["ldap_searches"], c0["ldap_searches"])
        # a different (wrong) password is not answered from the cache
        self.auth("user1@example.com", "other", check=77)

    def test_user_lookup_for_lmtp(self):
        before = self.slapd.search_count()
        out = self.stratus.ctl("user", "lookup", "-x", "service=lmtp", "user2@example.com").stdout
        self.assertIn("user\tuser2@example.com", out)
        self.assertIn("quota_rule\t*:storage=2048", out)
        time.sleep(0.2)
        self.assertEqual(self.slapd.search_count() - before, 1)
        r = self.stratus.ctl("user", "lookup", "ghost@example.com", check=False)
        self.assertEqual(r.returncode, 67)

    def test_iterate(self):
        users = self.stratus.ctl("user", "list").stdout.split()
        self.assertEqual(sorted(users), ["user1@example.com", "user2@example.com",
                                         "user3@example.com"])

    def test_ldap_injection_is_escaped(self):
        for user in ["*", "*)(uid=*", "user1@example.com)(mailRoutingAddress=*",
                     "a\\00b", "*)(|(objectClass=*", "x" * 10240]:
            with self.subTest(user=user[:30]):
                self.auth(user, "pass1", check=77)
        time.sleep(0.2)
        filters = self.slapd.searches_for("mailRoutingAddress=")
        self.assertTrue(any("\\2a\\29\\28uid=\\2a" in f.lower() for f in filters), filters[-5:])
        for f in filters:
            self.assertNotRegex(f, r"filter=\"\(mailRoutingAddress=\*")
        self.auth("user1@example.com", "pass1", check=0)

    def test_slapd_down_is_temporary_and_recovers(self):
        pid = self.stratus.pid_of("auth")
        self.slapd.stop()
        r = self.auth("user2@example.com", "pass2", check=75)
        self.assertIn("failed temporarily", r.stdout)
        r = self.stratus.ctl("user", "lookup", "user2@example.com", check=False)
        self.assertEqual(r.returncode, 75)
        self.slapd.start()
        self.auth("user2@example.com", "pass2", check=0)
        self.assertEqual(self.stratus.pid_of("auth"), pid)


if __name__ == "__main__":
    main()
