"""svc-index rebuild from object listings: messages stored as objects
(stratusctl mailbox deliver = blob Put with BlobMeta, then index Append,
as a delivery does) come back in the right folders when the user's
mail_home and index bundle are gone, and a requested rebuild of a
loaded user keeps flags and UIDs of the messages that have objects."""

import os
import shutil
import tempfile
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus

USER = "user1@example.com"


def status(st, box="INBOX"):
    out = st.ctl("mailbox", "status", USER, box).stdout.split()
    return dict(kv.split("=", 1) for kv in out[1:])


def bundles(st):
    objects = os.path.join(st.dir, "objects")
    return [os.path.join(d, f) for d, _, fs in os.walk(objects)
            for f in fs if f == "index.bundle"]


class RebuildTest(unittest.TestCase):
    def setUp(self):
        self.st = Stratus("mail_fsync = never\n").start()
        self.tmp = tempfile.mkdtemp(prefix="stratus-rebuild-")

    def tearDown(self):
        text = self.st.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertIsNone(SANITIZER_RE.search(text), text[-4000:])

    def deliver(self, box, subject, *flags):
        path = os.path.join(self.tmp, "msg")
        with open(path, "w") as f:
            f.write("From: a@example.com\nSubject: %s\n\nbody %s\n"
                    % (subject, subject))
        return self.st.ctl("mailbox", "deliver", USER, box, path, *flags)

    def wait_markers(self, n):
        deadline = time.time() + 10
        while time.time() < deadline:
            keys = self.st.ctl("fs", "ls", USER).stdout
            if keys.count("/_mailbox ") >= n:
                return keys
            time.sleep(0.05)
        self.fail("markers not written: " + keys)

    def populate(self):
        self.deliver("INBOX", "one", "\\Seen")
        self.deliver("INBOX", "two")
        self.deliver("Work/Projects", "three", "\\Flagged")
        self.st.ctl("mailbox", "create", USER, "Empty")
        self.deliver("Old", "four")
        self.st.ctl("mailbox", "rename", USER, "Old", "Archive/Old")
        # INBOX, Work/Projects, Empty, Archive/Old (parents are not
        # mailboxes of their own)
        self.wait_markers(4)
        time.sleep(0.3)  # the rename rewrote a marker in place

    def test_restart_without_home_or_bundle(self):
        st = self.st
        self.populate()
        before = status(st)
        st.stop()
        shutil.rmtree(os.path.join(st.dir, "home"))
        for b in bundles(st):
            os.unlink(b)
        st.start()
        after = status(st)
        self.assertEqual(after["messages"], "2")
        self.assertEqual(after["unseen"], "2")  # flags lived in the index
        self.assertNotEqual(after["uidvalidity"], before["uidvalidity"])
        self.assertEqual(status(st, "Work/Projects")["messages"], "1")
        self.assertEqual(status(st, "Archive/Old")["messages"], "1")
        self.assertEqual(status(st, "Empty")["messages"], "0")
        listing = st.ctl("mailbox", "list", USER).stdout
        self.assertNotIn("Recovered", listing)
        self.assertNotIn("\nOld", listing)
        self.assertIn("index rebuilt from", st.read_log())
        # The rebuilt index was uploaded as a bundle again.
        st.ctl("metacache", "flush")
        self.assertEqual(len(bundles(st)), 1)

    def test_requested_rebuild_keeps_flags(self):
        st = self.st
        self.populate()
        st.ctl("mailbox", "append", USER, "INBOX")  # index only, no object
        before = status(st)
        self.assertEqual(before["messages"], "3")
        out = st.ctl("index", "rebuild", USER).stdout
        self.assertIn("messages=4", out)
        after = status(st)
        self.assertEqual(after["messages"], "2")  # the record without object
        self.assertEqual(after["unseen"], "1")    # \Seen kept
        self.assertEqual(after["uidvalidity"], before["uidvalidity"])
        self.assertEqual(status(st, "Archive/Old")["messages"], "1")

    def test_rebuild_unknown_user_and_bad_name(self):
        st = self.st
        out = st.ctl("index", "rebuild", "user2@example.com").stdout
        self.assertIn("messages=0", out)
        r = st.ctl("index", "rebuild", "../x", check=False)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
