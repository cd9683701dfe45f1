"""svc-index bundle policy and metacache bounds, observed from outside:
- metacache_delay_uploads = yes: appends below obox_max_rescan_mail_count
  make no bundle PUT (svc-blob's request counters), the count-th makes
  exactly one (and the PUT of its generation claim);
- metacache_max_space: with a small bound and several users, the least
  recently used one is evicted after its dirty index was uploaded, and
  comes back intact from its bundle;
- a clean stop (SIGTERM) uploads dirty indexes first."""

import os
import re
import shutil
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus

USERS = {"u%d@example.com" % i: "pass" for i in range(4)}


def puts(st):
    out = st.ctl("fs", "stats").stdout
    return int(re.search(r"^put_2xx (\d+)$", out, re.M).group(1))


def status(st, user, box="INBOX"):
    out = st.ctl("mailbox", "status", user, box).stdout.split()
    return dict(kv.split("=", 1) for kv in out[1:])


def bundles(st):
    objects = os.path.join(st.dir, "objects")
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(objects)
                  for f in fs if f == "index.bundle")


class PolicyCase(unittest.TestCase):
    extra = ""

    def setUp(self):
        self.st = Stratus("mail_fsync = never\n" + self.extra,
                          users=USERS).start()

    def tearDown(self):
        text = self.st.cleanup()
        self.assertIsNone(SANITIZER_RE.search(text), text[-4000:])


class DelayedUploadTest(PolicyCase):
    extra = ("plugin {\n  metacache_delay_uploads = yes\n"
             "  metacache_upload_interval = 1h\n"
             "  obox_max_rescan_mail_count = 5\n}\n")

    def test_rescan_count_triggers_one_put(self):
        st, user = self.st, "u0@example.com"
        st.ctl("mailbox", "status", user, "INBOX")  # load, INBOX marker
        time.sleep(0.3)
        base = puts(st)
        for _ in range(4):
            st.ctl("mailbox", "append", user, "INBOX")
        time.sleep(0.5)
        self.assertEqual(puts(st), base, "no bundle PUT below the count")
        self.assertEqual(bundles(st), [])
        st.ctl("mailbox", "append", user, "INBOX")
        deadline = time.time() + 5
        while puts(st) == base and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        # two PUTs: the generation claim, then the bundle
        # (svc-index/index-bundle-publish.c)
        self.assertEqual(puts(st), base + 2, "one bundle PUT at the count")
        self.assertEqual(len(bundles(st)), 1)

    def test_clean_stop_uploads_dirty_index(self):
        st, user = self.st, "u1@example.com"
        st.ctl("mailbox", "append", user, "INBOX", "\\Flagged")
        st.ctl("mailbox", "append", user, "INBOX", "\\Seen")
        self.assertEqual(bundles(st), [])
        before = status(st, user)
        log = st.stop()
        self.assertIn("shutdown: uploading 1 dirty index", log)
        self.assertEqual(len(bundles(st)), 1)
        # Lose the local disk: the bundle alone holds the flags.
        shutil.rmtree(os.path.join(st.dir, "home"))
        st.start()
        after = status(st, user)
        for k in ("messages", "unseen", "uidvalidity", "uidnext",
                  "highestmodseq"):
            self.assertEqual(before[k], after[k], k)


class EvictionTest(PolicyCase):
    extra = ("plugin {\n  metacache_delay_uploads = yes\n"
             "  metacache_upload_interval = 1h\n"
             "  metacache_max_space = 2k\n}\n")

    def test_lru_user_evicted_after_upload_and_restored(self):
        st = self.st
        first = "u0@example.com"
        for flag in ("\\Seen", "\\Flagged", "$Work"):
            st.ctl("mailbox", "append", first, "INBOX", flag)
        before = status(st, first)
        self.assertEqual(bundles(st), [])
        # Other users push the cache over 2k; u0 is the least recent.
        for user in ("u1@example.com", "u2@example.com", "u3@example.com"):
            for _ in range(6):
                st.ctl("mailbox", "append", user, "INBOX", "\\Seen")
        deadline = time.time() + 10
        while time.time() < deadline:
            listing = st.ctl("metacache", "list").stdout
            if first not in listing:
                break
            time.sleep(0.1)
        self.assertNotIn(first, listing)
        m = re.search(r"total bytes=(\d+) max=(\d+)", listing)
        self.assertLessEqual(int(m.group(1)), int(m.group(2)) + 4096)
        self.assertIn("metacache: evicting", st.read_log())
        self.assertGreaterEqual(len(bundles(st)), 1)
        after = status(st, first)  # loaded back from its bundle
        for k in ("messages", "unseen", "uidvalidity", "uidnext",
                  "highestmodseq"):
            self.assertEqual(before[k], after[k], k)


if __name__ == "__main__":
    unittest.main(verbosity=2)
