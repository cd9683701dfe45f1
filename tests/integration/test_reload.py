"""Reload: SIGHUP and `stratusctl reload` re-read the configuration. A file
that does not load is refused with file:line and the services keep
serving on the old one; a good one applies mail_debug at once and names
the settings that need a restart. `stratusctl stop` ends every service."""

import imaplib
import json
import os
import re
import signal
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus, main


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.stratus = Stratus("auth_cache_size = 1M\n").start()
        with open(self.stratus.config) as f:
            self.good = f.read()

    def tearDown(self):
        text = self.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def write_config(self, text):
        with open(self.stratus.config, "w") as f:
            f.write(text)

    def imap_login(self):
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
        c.login("user1@example.com", "pass1")
        c.logout()

    def test_bad_config_is_refused_and_old_one_serves(self):
        imap_pid = self.stratus.pid_of("imap")
        self.write_config(self.good + "service imap {\n  no_such_setting = 1\n")
        r = self.stratus.ctl("reload", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, re.escape(self.stratus.config) + r":\d+")
        self.assertIn("reload refused", r.stderr)
        # SIGHUP straight to a service: it refuses the file with file:line too
        at = len(self.stratus.read_log())
        os.kill(imap_pid, signal.SIGHUP)
        m = self.stratus.wait_log(r"reload refused, the running configuration is kept: (.*)",
                                  start_at=at)
        self.assertRegex(m.group(1), re.escape(self.stratus.config) + r":\d+")
        self.imap_login()
        self.write_config(self.good)
        self.assertEqual(self.stratus.pid_of("imap"), imap_pid)

    def test_good_config_applies_live_and_names_the_rest(self):
        self.imap_login()  # fills svc-auth's cache
        self.write_config(self.good + "mail_debug = yes\nmail_max_userip_connections = 7\n")
        at = len(self.stratus.read_log())
        r = self.stratus.ctl("reload", "--json")
        rows = json.loads(r.stdout)
        self.assertTrue(rows and all(row["reload"] for row in rows), r.stdout)
        self.assertIn("auth", [row["service"] for row in rows])
        self.stratus.wait_log(r"reload: applied: mail_debug", start_at=at)
        self.stratus.wait_log(r"reload: auth cache flushed \([1-9]\d* entries\)", start_at=at)
        self.stratus.wait_log(r"need a restart of stratus-auth \(the old values stay in effect\):"
                              r".*mail_max_userip_connections", start_at=at)
        self.assertNotRegex(self.stratus.read_log()[at:], r"Debug: .*Connect from")
        self.imap_login()
        # mail_debug is live: the next connection logs debug lines
        self.stratus.wait_log(r"Debug: .*Connect from 127\.0\.0\.1", start_at=at)

    def test_stop(self):
        r = self.stratus.ctl("stop")
        self.assertIn("stop", r.stdout)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.stratus.ctl("status", check=False).returncode != 0:
                break
            time.sleep(0.1)
        self.stratus.wait_log(r"all services stopped", timeout=20)
        r = self.stratus.ctl("user", "*", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is stratus-auth running?", r.stderr)


if __name__ == "__main__":
    main()
