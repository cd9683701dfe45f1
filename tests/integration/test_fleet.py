"""Two Stratus backends sharing one S3 bucket (README "Fleet").

Backends A and B run on this machine as two service sets, each with its
own run dir, metacache (mail_home) and ports, both with obox_fs and
obox_index_fs on the same bucket of the SigV4-checking s3rver and one
passwd-file. The s3rver ignores If-Match/If-None-Match on PUT (checked
here first), so what keeps two writers apart is svc-index's generation
claim (svc-index/index-bundle-publish.c), which needs only PUT, LIST,
HEAD and DELETE.

- handover: a user served by A moves to B once A has uploaded and
  metacache_close_delay has passed; B opens from the bundle with the same
  UIDVALIDITY, UIDs and flags; B's changes are seen by A when the user
  comes back (A checks the bundle's generation after the close delay);
- race: both backends hold the same user and deliver and change flags at
  once; every upload claims a generation, the loser merges its changes
  into the winner's bundle: at the end both show every message once, the
  first messages keep their UIDs, new UIDs do not collide, and the flag
  changes made on each side are kept."""

import imaplib
import os
import re
import smtplib
import subprocess
import threading
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus
from test_blob import S3Server
from faultproxy import FaultProxy

CLOSE_DELAY = 1.0
PASSWORDS = {"mover@example.com": "pw-mover", "racer@example.com": "pw-racer",
             "cond@example.com": "pw-cond"}


class FleetBackend(Stratus):
    """One backend of the fleet: the harness's service set with both
    chains on the shared bucket and the shared passwd-file."""

    def __init__(self, s3_port, users_file, name):
        self.name = name
        self.shared_users = users_file
        self.chain = "s3:http://S3RVER:S3RVER@127.0.0.1:%d/?bucket=mails" % s3_port
        super().__init__("mail_fsync = never\nplugin {\n"
                         "  metacache_close_delay = %ds\n}\n" % CLOSE_DELAY,
                         protocols="imap lmtp")

    def render_auth_config(self):
        return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.shared_users}
}}
userdb {{
  driver = static
  args = home={self.dir}/home/%2Mu/%u
}}"""

    def render_config(self, protocols):
        text = super().render_config(protocols)
        text = re.sub(r"(?m)^  obox_fs = .*$", "  obox_fs = " + self.chain, text)
        return re.sub(r"(?m)^  obox_index_fs = .*$", "  obox_index_fs = " + self.chain, text)

    def counters(self):
        out = self.ctl("status", "index").stdout
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}

    def deliver(self, user, msgid, subject="hello"):
        body = ("From: a@example.org\r\nTo: %s\r\nMessage-ID: <%s>\r\n"
                "Subject: %s\r\n\r\nbody of %s\r\n" % (user, msgid, subject, msgid))
        with smtplib.LMTP("127.0.0.1", self.ports["lmtp"]) as lmtp:
            lmtp.sendmail("a@example.org", [user], body.encode())

    def imap(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.ports["imap"])
        m.login(user, PASSWORDS[user])
        return m


def mailbox_view(m):
    """({message-id: (uid, flags)}, EXISTS) of INBOX, selected here."""
    typ, data = m.select("INBOX")
    assert typ == "OK", data
    exists = int(data[0])
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK", data
    view = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta, header = item
        uid = int(re.search(rb"UID (\d+)", meta).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split()
        msgid = re.search(rb"<([^>]+)>", header).group(1).decode()
        assert msgid not in view, "message %s listed twice" % msgid
        view[msgid] = (uid, frozenset(f for f in flags if f != "\\Recent"))
    assert len(view) == exists, (view, exists)
    return view, exists


def uidvalidity_of(m):
    typ, data = m.status("INBOX", "(UIDVALIDITY)")
    assert typ == "OK", data
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


class FleetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = S3Server()
        cls.users_file = os.path.join(cls.s3.dir, "users")
        with open(cls.users_file, "w") as f:
            for user, pw in PASSWORDS.items():
                f.write("%s:{PLAIN}%s::::::\n" % (user, pw))
        cls.a = cls.b = None
        # A reaches the bucket through a logging proxy (requests pass
        # unchanged), B directly
        cls.s3log = FaultProxy(cls.s3.port).start()
        try:
            cls.a = FleetBackend(cls.s3log.port, cls.users_file, "A").start()
            cls.b = FleetBackend(cls.s3.port, cls.users_file, "B").start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        texts = []
        for st in (cls.a, cls.b):
            if st is not None:
                texts.append(st.cleanup())
        cls.s3log.stop()
        cls.s3.stop()
        for text in texts:
            m = SANITIZER_RE.search(text)
            if m:
                raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def wait_settled(self, *backends, timeout=20):
        """Until no upload is in flight and no user is dirty: the counters
        stop moving for a while."""
        deadline = time.time() + timeout
        last = None
        stable_since = time.time()
        while time.time() < deadline:
            now = [(c.get("bundle_uploads"), c.get("bundle_publish_conflicts"))
                   for c in (st.counters() for st in backends)]
            if now != last:
                last, stable_since = now, time.time()
            elif time.time() - stable_since > 0.8:
                return
            time.sleep(0.1)
        self.fail("uploads did not settle")

    def test_00_s3rver_ignores_conditional_put(self):
        """Why the claim exists: a PUT with If-None-Match: * over an
        existing object is stored anyway (real S3 would answer 412)."""
        key = "/mails/probe-conditional"
        self.assertEqual(self.s3.curl("-X", "PUT", "--data-binary", "one", key).stdout, "200")
        r = self.s3.curl("-X", "PUT", "--data-binary", "two", "-H", "If-None-Match: *", key)
        self.assertEqual(r.stdout, "200", "s3rver now honours If-None-Match: "
                         "the claim could give way to it")
        r = self.s3.curl("-X", "PUT", "--data-binary", "three", "-H", 'If-Match: "nope"', key)
        self.assertEqual(r.stdout, "200")
        self.s3.curl("-X", "DELETE", key)

    def test_01_bundle_puts_are_conditional(self):
        """For stores that honour them (AWS S3, posix): the first bundle
        of a user is PUT with If-None-Match: *, later ones with If-Match:
        the ETag its HEAD just saw; each after a claim PUT and LIST."""
        user = "cond@example.com"
        self.a.deliver(user, "c1@cond")
        self.wait_settled(self.a)
        self.a.deliver(user, "c2@cond")
        self.wait_settled(self.a)
        with self.s3log.lock:
            reqs = [(m, p.split("?")[0], h) for m, p, h in self.s3log.headers
                    if "cond%40" in p or "cond@" in p]
        bundle_puts = [h for m, p, h in reqs if m == "PUT" and p.endswith("/index.bundle")]
        self.assertGreaterEqual(len(bundle_puts), 2)
        self.assertEqual(bundle_puts[0].get("if-none-match"), "*")
        for h in bundle_puts[1:]:
            self.assertRegex(h.get("if-match", ""), r'^"[^"]+"$')
        # the index's requests in order (mail objects and markers go on
        # beside them)
        kinds = [(m, "claim" if ".claim." in p else "bundle" if p.endswith("/index.bundle")
                  else "list" if m == "GET" and p == "/mails" else "mail")
                 for m, p, _ in reqs]
        kinds = [k for k in kinds if k[1] != "mail"]
        i = kinds.index(("PUT", "bundle"))
        self.assertEqual(kinds[i - 3:i + 2], [("PUT", "claim"), ("GET", "list"), ("HEAD", "bundle"),
                                              ("PUT", "bundle"), ("DELETE", "claim")],
                         "claim PUT, LIST, HEAD, the bundle PUT, claim DELETE")

    def test_handover(self):
        user = "mover@example.com"
        a, b = self.a, self.b
        for i in range(1, 6):
            a.deliver(user, "m%d@fleet" % i)
        m = a.imap(user)
        m.select("INBOX")
        m.uid("STORE", "2", "+FLAGS", "(\\Flagged)")
        m.uid("STORE", "3", "+FLAGS", "(\\Seen $Work)")
        before, _ = mailbox_view(m)
        uv = uidvalidity_of(m)
        m.logout()
        self.wait_settled(a)
        time.sleep(CLOSE_DELAY + 0.3)   # the proxy moves the user to B

        m = b.imap(user)
        self.assertEqual(uidvalidity_of(m), uv, "same UIDVALIDITY on B")
        on_b, _ = mailbox_view(m)
        self.assertEqual(on_b, before, "B opened from A's bundle")
        self.assertIn("\\Flagged", on_b["m2@fleet"][1])
        self.assertEqual({"\\Seen", "$Work"}, set(on_b["m3@fleet"][1]))
        m.logout()
        self.assertGreaterEqual(b.counters()["bundle_downloads"], 1)

        # B serves the user now: new mail, a flag change, an expunge
        b.deliver(user, "m6@fleet")
        m = b.imap(user)
        m.select("INBOX")
        m.uid("STORE", "1", "+FLAGS", "(\\Answered)")
        m.uid("STORE", "4", "+FLAGS", "(\\Deleted)")
        m.expunge()
        after_b, _ = mailbox_view(m)
        m.logout()
        self.assertEqual(after_b["m6@fleet"][0], 6, "next UID after A's five")
        self.wait_settled(b)
        time.sleep(CLOSE_DELAY + 0.3)   # and back to A

        m = a.imap(user)
        self.assertEqual(uidvalidity_of(m), uv)
        back, _ = mailbox_view(m)
        m.logout()
        self.assertEqual(back, after_b, "A sees what B did (newer generation)")
        self.assertNotIn("m4@fleet", back)

    def test_race(self):
        user = "racer@example.com"
        a, b = self.a, self.b
        for i in range(1, 4):
            a.deliver(user, "r%d@base" % i)
        self.wait_settled(a)
        time.sleep(CLOSE_DELAY + 0.3)
        m = b.imap(user)
        base, _ = mailbox_view(m)      # B opens from A's bundle
        m.logout()
        merges0 = a.counters()["bundle_merges"] + b.counters()["bundle_merges"]

        n = 8
        start = threading.Barrier(3)
        errors = []

        def deliver_on(st, tag):
            try:
                start.wait()
                for i in range(n):
                    st.deliver(user, "%s%d@race" % (tag, i))
            except Exception as e:   # reported below
                errors.append(e)

        def flags_on_b():
            try:
                mb = b.imap(user)
                mb.select("INBOX")
                start.wait()
                mb.uid("STORE", str(base["r1@base"][0]), "+FLAGS", "(\\Flagged)")
                mb.logout()
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=deliver_on, args=(a, "a")),
                   threading.Thread(target=deliver_on, args=(b, "b")),
                   threading.Thread(target=flags_on_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        # a flag change on A while B's merges may still be going on
        m = a.imap(user)
        m.select("INBOX")
        m.uid("STORE", str(base["r2@base"][0]), "+FLAGS", "(\\Seen)")
        m.logout()
        self.wait_settled(a, b)
        time.sleep(CLOSE_DELAY + 0.3)
        # one more round so that the last writer's changes reach the other
        views = []
        for st in (a, b):
            m = st.imap(user)
            views.append(mailbox_view(m)[0])
            m.logout()
        self.wait_settled(a, b)
        time.sleep(CLOSE_DELAY + 0.3)
        views = []
        for st in (a, b):
            m = st.imap(user)
            views.append(mailbox_view(m)[0])
            m.logout()
        view_a, view_b = views
        expected = set(base) | {"a%d@race" % i for i in range(n)} | \
            {"b%d@race" % i for i in range(n)}
        self.assertEqual(set(view_a), expected, "no mail lost on A")
        self.assertEqual(view_a, view_b, "both backends agree")
        uids = [uid for uid, _ in view_a.values()]
        self.assertEqual(len(set(uids)), len(uids), "no UID collision")
        for msgid, (uid, _) in base.items():
            self.assertEqual(view_a[msgid][0], uid, "base UIDs unchanged")
        self.assertIn("\\Flagged", view_a["r1@base"][1], "B's flag kept")
        self.assertIn("\\Seen", view_a["r2@base"][1], "A's flag kept")
        merges = a.counters()["bundle_merges"] + b.counters()["bundle_merges"]
        self.assertGreater(merges, merges0, "a loser merged")
        conflicts = a.counters()["bundle_publish_conflicts"] + \
            b.counters()["bundle_publish_conflicts"]
        print("race: %d merges, %d lost generations" % (merges - merges0, conflicts))


if __name__ == "__main__":
    unittest.main(verbosity=2)
