"""mbsync (isync) syncing both ways against Stratus, with the extensions
it uses when the server offers them: the existing test_imap_clients run
only pulls. Here, after a first pull, the Maildir side gets a new
message in INBOX, a new folder with a message (Create Both: CREATE, then
APPEND, whose APPENDUID (UIDPLUS) mbsync records), a flag change (UID
STORE) and a trashed message (Expunge Both: \\Deleted, expunged by the
CLOSE mbsync sends); the network trace (-Dn) shows those commands and
COMPRESS DEFLATE being used. Then changes made on the server (a flag
from another IMAP session, a new delivery) come down, and a last run
moves nothing either way."""

import imaplib
import os
import re
import shutil
import subprocess
import unittest

from stratus_harness import StratusTestCase, main
from test_pop3_clients import lmtp_deliver_many

USER = "push@example.com"
PASSWORD = "secret"


def body(i, subject="pushed"):
    return (b"From: Sender %d <s%d@example.org>\r\nTo: push@example.com\r\n"
            b"Subject: %s %d\r\nMessage-ID: <p%d.%s@test>\r\n"
            b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\n"
            b"body of message %d\r\n" % (i, i, subject.encode(), i, i,
                                         subject.encode(), i))


@unittest.skipUnless(shutil.which("mbsync"), "isync not installed (tools/install-deps.sh)")
class MbsyncPushTest(StratusTestCase):
    users = {USER: PASSWORD}

    def setUp(self):
        self.local = os.path.join(self.stratus.dir, "maildir")
        os.makedirs(self.local, exist_ok=True)
        self.rc = os.path.join(self.stratus.dir, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(f"""IMAPAccount test
Host 127.0.0.1
Port {self.stratus.ports['imap']}
User {USER}
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path {self.local}/
Inbox {self.local}/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def mbsync(self):
        r = subprocess.run(["mbsync", "-Dn", "-c", self.rc, "-a"], capture_output=True,
                           text=True, timeout=120)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out[-4000:])
        self.assertNotIn("Error", out)
        return out

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, PASSWORD)
        return m

    def files(self, box="INBOX"):
        d = os.path.join(self.local, box)
        return {n: os.path.join(d, sub, n) for sub in ("cur", "new")
                for n in os.listdir(os.path.join(d, sub))}

    def server_messages(self, box="INBOX"):
        """{Message-ID: (flags, bytes)} on the server."""
        m = self.imap()
        m.select(box)
        typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        m.logout()
        out = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split()
            mid = re.search(rb"Message-ID: (<[^>]+>)", item[1]).group(1)
            out[mid] = (set(flags), item[1])
        return out

    def test_two_way(self):
        lmtp_deliver_many(self.stratus.ports["lmtp"], [USER], [body(i) for i in range(3)])
        out = self.mbsync()
        self.assertIn("COMPRESS DEFLATE", out)
        files = self.files()
        self.assertEqual(len(files), 3, out[-3000:])

        # ---- local changes ----
        new_msg = body(10, "local").replace(b"\r\n", b"\n")
        with open(os.path.join(self.local, "INBOX", "new", "100.local.host"), "wb") as f:
            f.write(new_msg)
        os.makedirs(os.path.join(self.local, "Local"))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.local, "Local", sub))
        with open(os.path.join(self.local, "Local", "cur", "101.local.host:2,S"), "wb") as f:
            f.write(body(11, "folder").replace(b"\r\n", b"\n"))
        by_mid = {}
        for name, path in files.items():
            with open(path, "rb") as f:
                by_mid[re.search(rb"Message-ID: (<[^>]+>)", f.read()).group(1)] = path
        flag_path = by_mid[b"<p0.pushed@test>"]
        trash_path = by_mid[b"<p1.pushed@test>"]
        os.rename(flag_path, flag_path.split(":2,")[0] + ":2,FS")
        os.rename(trash_path, trash_path.split(":2,")[0] + ":2,T")

        out = self.mbsync()
        for cmd in ("CREATE", "APPEND", "UID STORE", "CLOSE"):
            self.assertRegex(out, r"\d+ %s" % cmd, cmd)
        self.assertRegex(out, r"UID STORE \d+ \+FLAGS.SILENT \(\\Deleted\)")
        self.assertIn("APPENDUID", out)
        server = self.server_messages()
        self.assertEqual(set(server), {b"<p0.pushed@test>", b"<p2.pushed@test>",
                                       b"<p10.local@test>"})
        self.assertEqual(server[b"<p0.pushed@test>"][0], {b"\\Seen", b"\\Flagged"})
        # mbsync adds its X-TUID header to what it uploads
        self.assertEqual(re.sub(rb"X-TUID: \S+\r\n", b"", server[b"<p10.local@test>"][1]),
                         body(10, "local"))
        folder = self.server_messages("Local")
        self.assertEqual(list(folder), [b"<p11.folder@test>"])
        self.assertEqual(folder[b"<p11.folder@test>"][0], {b"\\Seen"})
        self.assertEqual(len(self.files()), 3)

        # ---- server changes come down ----
        m = self.imap()
        m.select("INBOX")
        typ, data = m.uid("SEARCH", "HEADER", "Message-ID", "<p2.pushed@test>")
        m.uid("STORE", data[0].decode(), "+FLAGS", "(\\Answered)")
        m.logout()
        lmtp_deliver_many(self.stratus.ports["lmtp"], [USER], [body(20, "late")])
        self.mbsync()
        files = self.files()
        self.assertEqual(len(files), 4)
        answered = [n for n, p in files.items()
                    if b"<p2.pushed@test>" in open(p, "rb").read()]
        self.assertEqual(len(answered), 1)
        self.assertIn("R", answered[0].split(":2,")[1])
        self.assertTrue(any(b"<p20.late@test>" in open(p, "rb").read()
                            for p in files.values()))

        # ---- nothing left to move ----
        before = (sorted(self.files()), sorted(self.files("Local")))
        out = self.mbsync()
        self.assertNotRegex(out, r"\d+ (APPEND|UID STORE|CREATE) ")
        self.assertEqual((sorted(self.files()), sorted(self.files("Local"))), before)


if __name__ == "__main__":
    main()
