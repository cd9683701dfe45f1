"""svc-quota end to end: rules from the config and from userdb, usage
counted from svc-index, refusals and quota_grace, warning scripts run once
per crossing, quota_clone's file dict."""

import os
import re
import stat
import time
import unittest

from stratus_harness import Stratus, StratusTestCase, main

USER = "user1@example.com"
LIMITED = "user2@example.com"


class QuotaTest(StratusTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stratus = st = Stratus(users={USER: "pass1", LIMITED: "pass2"})
        d = st.dir
        cls.warn_log = os.path.join(d, "warnings.log")
        script = os.path.join(d, "warn.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho \"$@\" >> %s\necho warned \"$@\"\n" % cls.warn_log)
        os.chmod(script, stat.S_IRWXU)
        # user2's limit comes from its userdb fields, as LDAP prefetch gives it.
        with open(st.users_file, "w") as f:
            f.write("%s:{PLAIN}pass1::::::\n" % USER)
            f.write("%s:{PLAIN}pass2::::::userdb_quota_rule=*:storage=2k\n" % LIMITED)
        # Per-user fields need a userdb that has them (LMTP-style lookups
        # do not go through the passdb).
        with open(st.config) as f:
            conf = f.read()
        conf = conf.replace("userdb {\n  driver = static",
                            "userdb {\n  driver = passwd-file\n  args = %s\n}\n"
                            "userdb {\n  driver = static" % st.users_file, 1)
        with open(st.config, "w") as f:
            f.write(conf)
        with open(st.config, "a") as f:
            f.write(f"""
mail_plugins = $mail_plugins quota quota_clone
plugin {{
  quota = count:User quota
  quota_rule = *:storage=1k
  quota_rule2 = Trash:storage=+1k
  quota_vsizes = no
  quota_warning = storage=50%% quota-warning 50 %u
  quota_clone_dict = file:{d}/clone-%u
}}
service quota-warning {{
  executable = script {script}
  unix_listener quota-warning {{
  }}
}}
""")
        st.start()

    def quota(self, *args):
        return self.stratus.ctl("quota", *args).stdout

    def storage(self, user):
        out = self.quota("get", user)
        m = re.search(r"User quota\tSTORAGE\t(\d+)\t(\d+)\t(\d+)\t(\d+)", out)
        self.assertIsNotNone(m, out)
        return [int(x) for x in m.groups()]

    def append(self, user, box="INBOX", n=1):
        for _ in range(n):
            self.stratus.ctl("mailbox", "append", user, box)

    def test_1_limits_from_config_and_userdb(self):
        usage_kib, limit_kib, usage, limit = self.storage(USER)
        self.assertEqual((limit_kib, limit), (1, 1024))
        self.assertEqual(self.storage(LIMITED)[3], 2048)

    def test_2_usage_refusal_grace_and_mailbox_rule(self):
        self.append(USER, n=3)              # ctl appends 100-byte records
        self.quota("recalc", USER)          # nobody told svc-quota
        self.assertEqual(self.storage(USER)[2], 300)
        self.assertIn("refused: Quota exceeded", self.quota("check", USER, "INBOX", "800"))
        # quota_grace (10% by default) lets the delivery that crosses pass.
        self.assertIn("allowed", self.quota("check", USER, "INBOX", "800", "--delivery"))
        self.assertIn("refused", self.quota("check", USER, "INBOX", "900", "--delivery"))
        # Trash:storage=+1k raises the limit when saving to Trash.
        self.assertIn("allowed", self.quota("check", USER, "Trash", "1500"))

    def test_3_warning_runs_once_per_crossing_and_clone(self):
        self.quota("get", LIMITED)          # remembers usage 0
        self.append(LIMITED, n=11)          # 1100 bytes > 50% of 2048
        self.quota("changed", LIMITED)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.warn_log):
            time.sleep(0.1)
        self.stratus.wait_log(r"quota-warning .*warn\.sh: done")
        self.quota("changed", LIMITED)      # no new crossing: no new run
        time.sleep(1)
        with open(self.warn_log) as f:
            self.assertEqual(f.read().splitlines(), ["50 %s" % LIMITED])
        self.assertRegex(self.stratus.read_log(), r"quota-warning .*: warned 50 " + re.escape(LIMITED))
        with open(os.path.join(self.stratus.dir, "clone-" + LIMITED)) as f:
            self.assertEqual(f.read().split("\n")[:4],
                             ["priv/quota/storage", "1100", "priv/quota/messages", "11"])

    def test_4_recalc(self):
        out = self.quota("recalc", USER)
        self.assertRegex(out, r"STORAGE\t\d+\t1\t300\t1024")

    def test_5_bad_user_is_refused(self):
        r = self.stratus.ctl("quota", "get", "a/b", check=False)
        self.assertNotEqual(r.returncode, 0)


class QuotaConfigErrorTest(unittest.TestCase):
    def test_malformed_rule_stops_start(self):
        st = Stratus("mail_plugins = $mail_plugins quota\nplugin {\n  quota = count:Q\n"
                     "  quota_rule = *:storage=abc\n}\n")
        try:
            st.start(wait=False)
            st.wait_log(r"quota: Fatal: plugin/quota_rule: invalid quota value 'abc'", timeout=15)
        finally:
            st.cleanup()


if __name__ == "__main__":
    main()
