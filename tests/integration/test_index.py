"""svc-index end to end: the real service set, driven through stratusctl
(mailbox/metacache commands that speak svc-index's RPC). Covers another
session's Wait woken at once by an append, bundles uploaded through
svc-blob, and a user moved to a second instance with its own mail_home
sharing the object storage keeping all flags."""

import os
import subprocess
import time
import unittest

from stratus_harness import STRATUSCTL, SANITIZER_RE, Stratus, StratusTestCase, main

USER = "user1@example.com"


def status(st, box="INBOX"):
    out = st.ctl("mailbox", "status", USER, box).stdout.split()
    return dict(kv.split("=", 1) for kv in out[1:])


class IndexTest(StratusTestCase):
    extra_config = "mail_fsync = never\n"

    def test_wait_sees_other_session_append(self):
        st = self.stratus
        s = status(st)
        waiter = subprocess.Popen(
            [STRATUSCTL, "-c", st.config, "mailbox", "wait", USER, "INBOX",
             s["highestmodseq"], s["uidnext"], "20000"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the wait is parked in svc-index
        t0 = time.time()
        st.ctl("mailbox", "append", USER, "INBOX", "\\Seen")
        out, _ = waiter.communicate(timeout=10)
        self.assertLess(time.time() - t0, 2.0)
        self.assertIn("appended=1", out)

    def test_list_autocreate_and_status(self):
        st = self.stratus
        st.ctl("mailbox", "append", USER, "Work/Projects", "$Important")
        out = st.ctl("mailbox", "list", USER, "%").stdout
        self.assertIn("INBOX", out)
        self.assertIn("Work \\HasChildren", out)
        self.assertEqual(status(st, "Work/Projects")["messages"], "1")
        r = st.ctl("mailbox", "status", USER, "&Jjo", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("modified UTF-7", r.stderr)


class BundleMoveTest(unittest.TestCase):
    def test_user_moves_between_instances(self):
        a = Stratus("mail_fsync = never\n").start()
        b = None
        try:
            for flag in ("\\Seen", "\\Flagged", "$Label1"):
                a.ctl("mailbox", "append", USER, "INBOX", flag)
            a.ctl("mailbox", "append", USER, "Archive/2024", "\\Answered")
            a.ctl("metacache", "flush")
            objects = os.path.join(a.dir, "objects")
            bundles = [os.path.join(d, f) for d, _, fs in os.walk(objects)
                       for f in fs if f == "index.bundle"]
            self.assertEqual(len(bundles), 1, bundles)
            before = status(a)
            # A second backend: its own mail_home, the same object storage.
            b = Stratus("mail_fsync = never\nplugin {\n"
                        "  obox_fs = posix:prefix=%s/\n"
                        "  obox_index_fs = posix:prefix=%s/\n}\n"
                        % (objects, objects)).start()
            after = status(b)
            for k in ("messages", "unseen", "uidvalidity", "uidnext",
                      "highestmodseq"):
                self.assertEqual(before[k], after[k], k)
            self.assertEqual(status(b, "Archive/2024")["messages"], "1")
            self.assertIn("Archive/2024", b.ctl("mailbox", "list", USER).stdout)
        finally:
            for st in (a, b):
                if st is not None:
                    text = st.cleanup()
                    self.assertIsNone(SANITIZER_RE.search(text), text[-4000:])


if __name__ == "__main__":
    main()
