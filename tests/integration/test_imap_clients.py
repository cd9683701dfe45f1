"""Real IMAP clients from Debian against Stratus, on mail delivered by
LMTP (one connection, one transaction per message):
- mbsync (isync) syncs a 1,000-message INBOX into a Maildir with no
  error; a second sync transfers nothing either way.
- fetchmail in IMAP mode with --keep hands 1,000 messages to an MDA; a
  second run fetches nothing (fetchmail's IMAP newness is the \\Seen flag
  it sets after delivery, as its manual says), and a later delivery is
  fetched alone.
- mutt in batch mode (driven through a pseudo-terminal with pushed keys)
  lists a mailbox and reads one message."""

import imaplib
import os
import pty
import select
import shutil
import subprocess
import time
import unittest

from stratus_harness import StratusTestCase, main
from test_pop3_clients import lmtp_deliver_many

N = int(os.environ.get("IMAP_CLIENTS_N", "1000"))   # smaller for debugging
MBSYNC_USER = "sync@example.com"
FETCH_USER = "fetch@example.com"
MUTT_USER = "mutt@example.com"
PASSWORD = "secret"


def body(i):
    return (b"From: Sender %d <s%d@example.org>\r\nTo: x@example.com\r\n"
            b"Subject: client test %d\r\nMessage-ID: <c%d@test>\r\n"
            b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\n"
            b"body of message %d\r\n.a line with a dot\r\n" % (i, i, i, i, i))


def deliver(port, users, bodies):
    replies = lmtp_deliver_many(port, users, bodies)
    for r in replies:
        for line in r:
            assert line.startswith("250 2.0.0 "), line


@unittest.skipUnless(shutil.which("mbsync") and shutil.which("fetchmail"),
                     "isync/fetchmail not installed (tools/install-deps.sh)")
class ImapClientsTest(StratusTestCase):
    users = {MBSYNC_USER: PASSWORD, FETCH_USER: PASSWORD, MUTT_USER: PASSWORD}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t0 = time.time()
        deliver(cls.stratus.ports["lmtp"], [MBSYNC_USER, FETCH_USER],
                [body(i) for i in range(N)])
        deliver(cls.stratus.ports["lmtp"], [MUTT_USER], [body(i) for i in range(3)])
        print("delivered %d messages to 2 users in %.1f s" % (N, time.time() - t0))
        cls.work = os.path.join(cls.stratus.dir, "clients")
        os.makedirs(cls.work)

    def imap_status(self, user, items="(MESSAGES UNSEEN)"):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, PASSWORD)
        typ, data = m.status("INBOX", items)
        m.logout()
        return data[0]

    # ---- mbsync ----

    def run_mbsync(self, rc):
        t0 = time.time()
        r = subprocess.run(["mbsync", "-V", "-c", rc, "-a"], capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertNotIn("Error", r.stderr)
        return r.stdout + r.stderr, time.time() - t0

    def maildir_files(self, local):
        box = os.path.join(local, "INBOX")
        return sorted(os.listdir(os.path.join(box, "cur")) +
                      os.listdir(os.path.join(box, "new")))

    def test_mbsync_1000(self):
        local = os.path.join(self.work, "mbsync")
        os.makedirs(local)
        rc = os.path.join(self.work, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(f"""IMAPAccount test
Host 127.0.0.1
Port {self.stratus.ports['imap']}
User {MBSYNC_USER}
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Create Both
SyncState *
""")
        out, secs = self.run_mbsync(rc)
        files = self.maildir_files(local)
        self.assertEqual(len(files), N, out[-2000:])
        print("mbsync: first sync of %d messages %.1f s" % (N, secs))
        with open(os.path.join(local, "INBOX", "new" if os.listdir(
                os.path.join(local, "INBOX", "new")) else "cur", files[0]), "rb") as f:
            self.assertIn(b"\n.a line with a dot", f.read())
        out, secs = self.run_mbsync(rc)
        # Nothing moved either way: the same files (their names carry
        # UIDs and flags), and the server still has every message.
        self.assertEqual(self.maildir_files(local), files, out[-2000:])
        print("mbsync: second sync %.1f s" % secs)
        self.assertIn(b"MESSAGES %d" % N, self.imap_status(MBSYNC_USER))

    # ---- fetchmail (IMAP) ----

    def fetchmail(self):
        rc = os.path.join(self.work, "fetchmailrc")
        out = os.path.join(self.work, "fetchmail.out")
        with open(rc, "w") as f:
            f.write('set no syslog\npoll 127.0.0.1 protocol IMAP port %d\n'
                    '  user "%s" there password "%s" is root here\n'
                    "  sslproto '' keep\n"
                    '  mda "cat >> %s"\n' % (self.stratus.ports["imap"], FETCH_USER,
                                             PASSWORD, out))
        os.chmod(rc, 0o600)
        t0 = time.time()
        # --pidfile: as root fetchmail locks /var/run/fetchmail.pid whatever
        # FETCHMAILHOME says, and other tests run fetchmail in parallel
        r = subprocess.run(["fetchmail", "-f", rc, "--idfile",
                            os.path.join(self.work, "fetchids"),
                            "--pidfile", os.path.join(self.work, "fetchmail.pid")],
                           env=dict(os.environ, FETCHMAILHOME=self.work),
                           capture_output=True, text=True, timeout=600)
        secs = time.time() - t0
        text = b""
        if os.path.exists(out):
            with open(out, "rb") as f:
                text = f.read()
        return r, text, secs

    def test_fetchmail_imap_1000(self):
        r, text, secs = self.fetchmail()
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertEqual(text.count(b"Message-ID: <c"), N)
        for i in (0, N // 2, N - 1):
            self.assertIn(b"Subject: client test %d\n" % i, text)
        self.assertIn(b"\n.a line with a dot\n", text)
        print("fetchmail IMAP: %d messages %.1f s" % (N, secs))
        # --keep: still on the server, now \Seen
        self.assertIn(b"MESSAGES %d UNSEEN 0" % N, self.imap_status(FETCH_USER))

        r, text2, secs = self.fetchmail()
        self.assertEqual(r.returncode, 1, r.stdout[-2000:] + r.stderr[-2000:])  # 1 = no mail
        self.assertEqual(len(text2), len(text))

        deliver(self.stratus.ports["lmtp"], [FETCH_USER],
                [b"Subject: late one\r\nMessage-ID: <late@test>\r\n\r\nlate\r\n"])
        r, text3, secs = self.fetchmail()
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertEqual(text3[len(text):].count(b"Message-ID:"), 1)
        self.assertIn(b"Message-ID: <late@test>", text3[len(text):])

    # ---- mutt ----

    def run_mutt(self, keys, timeout=60):
        """mutt in a pseudo-terminal with `keys` pushed; returns once
        mutt exits."""
        rc = os.path.join(self.work, "muttrc")
        port = self.stratus.ports["imap"]
        with open(rc, "w") as f:
            f.write(f"""set folder="imap://{MUTT_USER}@127.0.0.1:{port}/"
set spoolfile="+INBOX"
set imap_user="{MUTT_USER}"
set imap_pass="{PASSWORD}"
set ssl_starttls=no
set ssl_force_tls=no
set imap_check_subscribed=no
set header_cache=""
set message_cachedir=""
set record=""
set move=no
set mark_old=no
set wait_key=no
set quit=yes
set confirmappend=no
set pipe_split=yes
set pipe_decode=no
set sort=mailbox-order
set mail_check_stats=no
set timeout=1
""")
        master, slave = pty.openpty()
        env = dict(os.environ, TERM="vt100", HOME=self.work, COLUMNS="120", LINES="40")
        p = subprocess.Popen(["mutt", "-n", "-F", rc, "-f", "imap://%s@127.0.0.1:%d/INBOX"
                              % (MUTT_USER, port), "-e", "push '%s'" % keys],
                             stdin=slave, stdout=slave, stderr=slave, env=env,
                             cwd=self.work, start_new_session=True)
        os.close(slave)
        screen = b""
        deadline = time.time() + timeout
        try:
            while p.poll() is None and time.time() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        screen += os.read(master, 65536)
                    except OSError:
                        break
            # EIO on the master comes when mutt closes the terminal, a
            # moment before it can be reaped: wait for it, bounded.
            try:
                p.wait(timeout=max(1.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.fail("mutt did not finish; screen:\n" + screen.decode(errors="replace")[-3000:])
        finally:
            os.close(master)
        return p.returncode, screen.decode(errors="replace")

    @unittest.skipUnless(shutil.which("mutt"), "mutt not installed (tools/install-deps.sh)")
    def test_mutt_lists_and_reads(self):
        listing = os.path.join(self.work, "mutt-list")
        read = os.path.join(self.work, "mutt-read")
        # List: tag every message and pipe each one through grep
        # (pipe_split: one command per message). Read: pipe message 2 whole.
        # ("^" would be a control key in push strings: no regex anchors.)
        keys = ("<tag-pattern>~A<enter>"
                "<tag-prefix><pipe-message>grep Subject: >> %s<enter>"
                "<tag-pattern>~A<enter>"    # untag
                "<first-entry><next-entry><pipe-message>cat > %s<enter>"
                "<quit>" % (listing, read))
        code, screen = self.run_mutt(keys)
        self.assertEqual(code, 0, screen[-3000:])
        with open(listing) as f:
            subjects = f.read().splitlines()
        self.assertEqual(subjects, ["Subject: client test %d" % i for i in range(3)], screen[-2000:])
        with open(read, "rb") as f:
            msg = f.read()
        self.assertIn(b"Message-ID: <c1@test>", msg)
        self.assertIn(b"body of message 1\n.a line with a dot\n", msg)


if __name__ == "__main__":
    main()
