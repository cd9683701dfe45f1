"""Object ids and UIDLs survive a rebuild of the index from the objects.

With obox_use_object_ids = yes each index record keeps the id svc-blob's
Put returned (the full key, user prefix included). When the local cache
and the bundle are both lost, the rebuild lists the objects and must
give each message the same id (not the short key relative to the user
prefix that the listing shows) and the same GUID, so POP3 UIDLs with
pop3_uidl_format = %g do not change (issue #7) and the next delivery
references objects the same way as the old ones.

The ids are read from the index bundle the service uploads (a small
protobuf wire-format reader below, over svc-index/index-file.proto), the
UIDLs from a real POP3 session, the messages come in over LMTP."""

import os
import poplib
import re
import shutil
import smtplib
import struct
import time
import unittest
import zlib

from stratus_harness import SANITIZER_RE, Stratus

USER = "user1@example.com"
PASS = "pass1"


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def pb_fields(buf):
    """(field number, value) pairs of one protobuf message: ints for
    varints, bytes for length-delimited fields."""
    i, out = 0, []
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, value))
    return out


def bundle_sections(data):
    """The raw sections of a version-2 index.bundle ("STXBNDL\\n" u32 2
    u32 sections u64 body length, then per section u32 raw length, u32
    deflated length, u32 crc, zlib bytes): the State without records,
    then Mailbox chunks (guid + records)."""
    assert data[:8] == b"STXBNDL\n", data[:8]
    assert struct.unpack_from("<I", data, 8)[0] == 2
    n = struct.unpack_from("<I", data, 12)[0]
    pos, out = 24, []
    for _ in range(n):
        _raw, clen, _crc = struct.unpack_from("<III", data, pos)
        out.append(zlib.decompress(data[pos + 12:pos + 12 + clen]))
        pos += 12 + clen
    assert pos == len(data)
    return out


def bundle_records(path):
    """{(mailbox name, message guid): object id} from an index.bundle."""
    with open(path, "rb") as f:
        sections = bundle_sections(f.read())
    names = {}
    for num, box in pb_fields(sections[0]):
        if num == 3:                      # State.mailboxes
            fields = pb_fields(box)
            names[next(v for n, v in fields if n == 2)] = \
                next(v for n, v in fields if n == 1).decode()
    records = {}
    for chunk in sections[1:]:
        fields = pb_fields(chunk)
        name = names[next(v for n, v in fields if n == 2)]
        for n, rec in fields:
            if n != 9:                    # Mailbox.records
                continue
            r = dict((k, v) for k, v in pb_fields(rec) if k in (2, 3))
            records[(name, r.get(2, b"").decode())] = r.get(3, b"").decode()
    return records


class ObjectIdRebuildTest(unittest.TestCase):
    def setUp(self):
        self.st = Stratus("mail_fsync = never\n"
                          "pop3_uidl_format = %g\n"
                          "plugin {\n  obox_use_object_ids = yes\n}\n",
                          protocols="imap pop3 lmtp").start()

    def tearDown(self):
        text = self.st.cleanup()
        self.assertIsNone(SANITIZER_RE.search(text), text[-4000:])

    def lmtp(self, subject):
        with smtplib.LMTP("127.0.0.1", self.st.ports["lmtp"]) as l:
            l.sendmail("a@example.org", [USER],
                       ("From: a@example.org\r\nTo: %s\r\nSubject: %s\r\n"
                        "Message-ID: <%s@example.org>\r\n\r\nbody of %s\r\n"
                        % (USER, subject, subject, subject)).encode())

    def uidls(self):
        p = poplib.POP3("127.0.0.1", self.st.ports["pop3"], timeout=20)
        try:
            p.user(USER)
            p.pass_(PASS)
            lines = p.uidl()[1]
        finally:
            p.quit()
        return [line.decode().split(" ", 1)[1] for line in lines]

    def bundle(self):
        objects = os.path.join(self.st.dir, "objects")
        found = [os.path.join(d, f) for d, _, fs in os.walk(objects)
                 for f in fs if f == "index.bundle"]
        self.assertEqual(len(found), 1, found)
        return found[0]

    def ids(self):
        self.st.ctl("metacache", "flush")
        return bundle_records(self.bundle())

    def wait_markers(self, n):
        deadline = time.time() + 10
        while time.time() < deadline:
            keys = self.st.ctl("fs", "ls", USER).stdout
            if keys.count("/_mailbox ") >= n:
                return
            time.sleep(0.05)
        self.fail("mailbox name markers not written")

    def populate(self):
        for subject in ("one", "two", "three"):
            self.lmtp(subject)
        msg = os.path.join(self.st.dir, "msg")
        with open(msg, "w") as f:
            f.write("From: b@example.org\nSubject: four\n\nfour\n")
        self.st.ctl("mailbox", "deliver", USER, "Work", msg)
        self.wait_markers(2)

    def assert_full_ids(self, ids):
        for (box, guid), oid in ids.items():
            # the key Put returned: "<2>/<3>/<user>/<box guid>/<guid>"
            self.assertRegex(oid, r"^[0-9a-f]{2}/[0-9a-f]{3}/%s/[0-9a-f]{32}/"
                             % re.escape(USER), (box, guid))
            self.assertTrue(oid.endswith("/" + guid), (oid, guid))

    def test_lost_cache_and_bundle(self):
        st = self.st
        self.populate()
        uidls_before = self.uidls()
        self.assertEqual(len(uidls_before), 3)
        before = self.ids()
        self.assertEqual(len(before), 4)
        self.assert_full_ids(before)

        st.stop()
        shutil.rmtree(os.path.join(st.dir, "home"))
        os.unlink(self.bundle())
        st.start()
        self.assertEqual(self.uidls(), uidls_before)   # rebuilt at login
        self.assertIn("index rebuilt from", st.read_log())
        after = self.ids()
        self.assertEqual(after, before)

        # New deliveries look like the old ones and get new UIDLs.
        self.lmtp("five")
        self.assertEqual(self.uidls()[:3], uidls_before)
        self.assert_full_ids(self.ids())

    def test_requested_rebuild_keeps_ids(self):
        st = self.st
        self.populate()
        uidls_before = self.uidls()
        before = self.ids()
        out = st.ctl("index", "rebuild", USER).stdout
        self.assertIn("messages=4", out)
        self.assertEqual(self.ids(), before)
        self.assertEqual(self.uidls(), uidls_before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
