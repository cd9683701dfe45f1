"""svc-index bundle upload policy seen from the S3 server's side.

obox_fs and obox_index_fs point at the SigV4-checking S3 server
(@20minutes/s3rver) through tests/integration/faultproxy.py, which passes
every request unchanged and logs its method and path. A bundle upload is
a PUT whose path ends in /index.bundle; these tests count those, not
svc-blob's own counters:
- metacache_delay_uploads = yes with obox_max_rescan_mail_count = 5:
  four saved mails make no bundle PUT, the fifth makes exactly one, the
  next four none again;
- metacache_upload_interval = 2s: changes below the mail count are
  uploaded by one PUT once the interval has passed, not before, and an
  unchanged index is not uploaded again;
- metacache_delay_uploads = no: each change is uploaded (the reference
  the two delayed cases are measured against);
- the bundle on the S3 server is the user's state: with the local cache
  deleted, the user comes back from it with the same counts."""

import os
import re
import shutil
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus
from faultproxy import FaultProxy
from test_blob import S3Server

USER = "user1@example.com"


class S3Stratus(Stratus):
    """The harness's service set with both chains on S3 via the proxy."""

    def __init__(self, port, extra):
        self.chain = "s3:http://S3RVER:S3RVER@127.0.0.1:%d/?bucket=mails" % port
        super().__init__("mail_fsync = never\n" + extra,
                         protocols="imap pop3 lmtp")

    def render_config(self, protocols):
        text = super().render_config(protocols)
        text = re.sub(r"(?m)^  obox_fs = .*$", "  obox_fs = " + self.chain, text)
        return re.sub(r"(?m)^  obox_index_fs = .*$",
                      "  obox_index_fs = " + self.chain, text)


def status(st, box="INBOX"):
    out = st.ctl("mailbox", "status", USER, box).stdout.split()
    return dict(kv.split("=", 1) for kv in out[1:])


class S3PolicyCase(unittest.TestCase):
    extra = ""

    def setUp(self):
        self.s3 = S3Server()
        self.proxy = FaultProxy(self.s3.port).start()
        try:
            self.st = S3Stratus(self.proxy.port, self.extra).start()
        except Exception:
            self.proxy.stop()
            self.s3.stop()
            raise

    def tearDown(self):
        try:
            text = self.st.cleanup()
            self.assertIsNone(SANITIZER_RE.search(text), text[-4000:])
        finally:
            self.proxy.stop()
            self.s3.stop()

    def bundle_puts(self):
        with self.proxy.lock:
            log = list(self.proxy.log)
        return sum(1 for method, path, _ in log
                   if method == "PUT" and path.split("?")[0]
                   .endswith("/index.bundle"))

    def wait_puts(self, n, timeout=10):
        deadline = time.time() + timeout
        while self.bundle_puts() < n and time.time() < deadline:
            time.sleep(0.05)
        return self.bundle_puts()

    def load_user(self):
        """Loads the user (INBOX created: one change), lets any upload
        that causes settle, and returns the PUT count then."""
        status(self.st)
        time.sleep(0.5)
        return self.bundle_puts()


class RescanCountTest(S3PolicyCase):
    extra = ("plugin {\n  metacache_delay_uploads = yes\n"
             "  metacache_upload_interval = 1h\n"
             "  obox_max_rescan_mail_count = 5\n}\n")

    def test_one_put_per_five_saved_mails(self):
        st = self.st
        base = self.load_user()
        for _ in range(4):
            st.ctl("mailbox", "append", USER, "INBOX")
        time.sleep(1.0)
        self.assertEqual(self.bundle_puts(), base, "no PUT below the count")
        st.ctl("mailbox", "append", USER, "INBOX")
        self.assertEqual(self.wait_puts(base + 1), base + 1)
        time.sleep(0.5)
        self.assertEqual(self.bundle_puts(), base + 1, "exactly one PUT")
        for _ in range(4):
            st.ctl("mailbox", "append", USER, "INBOX")
        time.sleep(1.0)
        self.assertEqual(self.bundle_puts(), base + 1,
                         "the count starts again after an upload")
        st.ctl("mailbox", "append", USER, "INBOX")
        self.assertEqual(self.wait_puts(base + 2), base + 2)

    def test_bundle_on_s3_restores_the_user(self):
        st = self.st
        self.load_user()
        for _ in range(5):
            st.ctl("mailbox", "append", USER, "INBOX", "\\Seen")
        st.ctl("mailbox", "append", USER, "INBOX")
        before = status(st)
        st.stop()   # uploads the dirty index (one more mail than the count)
        shutil.rmtree(os.path.join(st.dir, "home"))
        puts = self.bundle_puts()
        st.start()
        after = status(st)
        for k in ("messages", "unseen", "uidvalidity", "uidnext",
                  "highestmodseq"):
            self.assertEqual(before[k], after[k], k)
        gets = [p for m, p, _ in self.proxy.log
                if m == "GET" and p.split("?")[0].endswith("/index.bundle")]
        self.assertGreaterEqual(len(gets), 1, "restored from the S3 bundle")
        self.assertEqual(self.bundle_puts(), puts, "loading uploads nothing")


class UploadIntervalTest(S3PolicyCase):
    extra = ("plugin {\n  metacache_delay_uploads = yes\n"
             "  metacache_upload_interval = 2s\n"
             "  obox_max_rescan_mail_count = 100\n}\n")

    def test_interval_uploads_once(self):
        st = self.st
        base = self.load_user()
        # The load's own change may still be waiting for its interval.
        base = self.wait_puts(base + 1, timeout=4)
        time.sleep(0.2)
        base = self.bundle_puts()
        st.ctl("mailbox", "append", USER, "INBOX", "\\Flagged")
        st.ctl("mailbox", "append", USER, "INBOX")
        # Nothing before the 2 s interval: a slow machine can only make
        # the upload later, never earlier, so this cannot flake.
        time.sleep(1.0)
        self.assertEqual(self.bundle_puts(), base)
        self.assertEqual(self.wait_puts(base + 1, timeout=10), base + 1)
        time.sleep(3.0)
        self.assertEqual(self.bundle_puts(), base + 1,
                         "an unchanged index is not uploaded again")


class ImmediateUploadTest(S3PolicyCase):
    extra = "plugin {\n  metacache_delay_uploads = no\n}\n"

    def test_each_change_is_uploaded(self):
        st = self.st
        base = self.load_user()
        for i in range(3):
            st.ctl("mailbox", "append", USER, "INBOX")
            self.assertEqual(self.wait_puts(base + i + 1), base + i + 1)
        time.sleep(0.5)
        self.assertEqual(self.bundle_puts(), base + 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
