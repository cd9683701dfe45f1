"""lib/core/log under systemd (issue 17 item 4): with JOURNAL_STREAM set, as
systemd sets it for a unit whose output is the journal, every line goes
through sd_journal_send with the structured fields SERVICE, SESSION, USER,
REMOTE_IP, MESSAGE_ID (one per kind of line, whatever its arguments) and
PRIORITY. Tested against the real systemd-journald: the test moves itself
into a private mount namespace (unshare, as root), mounts a tmpfs on /run
and /var/log/journal there only, starts /lib/systemd/systemd-journald,
runs the service set with JOURNAL_STREAM, logs in over IMAP twice and
delivers over LMTP, then reads the entries back with
`journalctl --directory`; with journald stopped, lines come as plain
text on stderr. Skipped, saying why, where that cannot be done."""

import ctypes
import imaplib
import json
import os
import re
import shutil
import smtplib
import subprocess
import time
import unittest

from stratus_harness import Stratus, SANITIZER_RE, main

JOURNALD = "/lib/systemd/systemd-journald"
CLONE_NEWNS = 0x00020000
USER, PASS = "user1@example.com", "pass1"


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        return "%s: %s" % (" ".join(cmd), r.stderr.strip())
    return None


def enter_private_journal():
    """None once this process has a mount namespace of its own with an
    empty /run (and /var/log/journal), else why not."""
    if os.geteuid() != 0:
        return "needs root (mount namespace)"
    if not os.access(JOURNALD, os.X_OK) or shutil.which("journalctl") is None:
        return "no %s or journalctl" % JOURNALD
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return "unshare(CLONE_NEWNS) failed: errno %d" % ctypes.get_errno()
    for cmd in (("mount", "--make-rprivate", "/"),
                ("mount", "-t", "tmpfs", "tmpfs", "/run")):
        why = run(*cmd)
        if why:
            return why
    # journald writes to /var/log/journal when it exists: never the host's
    if os.path.isdir("/var/log/journal"):
        why = run("mount", "-t", "tmpfs", "tmpfs", "/var/log/journal")
        if why:
            return why
    os.makedirs("/run/systemd/journal")
    return None


class JournaldTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = enter_private_journal()
        if why:
            raise unittest.SkipTest(why)
        with open("/etc/machine-id") as f:
            cls.journal_dir = "/run/log/journal/" + f.read().strip()
        cls.journald = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists("/run/systemd/journal/socket"):
            if time.time() > deadline or cls.journald.poll() is not None:
                raise AssertionError("systemd-journald did not start")
            time.sleep(0.05)
        # lib/core/log only asks whether the variable is there
        os.environ["JOURNAL_STREAM"] = "0:0"
        try:
            cls.stratus = Stratus().start(wait=False)
        finally:
            del os.environ["JOURNAL_STREAM"]
        cls.wait_entry(lambda e: re.search(r"all \d+ services ready",
                                           e.get("MESSAGE", "")), timeout=30)

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        if cls.journald.poll() is None:
            cls.journald.terminate()
            cls.journald.wait(timeout=10)
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report in service output:\n" +
                                 text[max(0, m.start() - 2000):m.start() + 4000])

    @classmethod
    def entries(cls):
        r = subprocess.run(["journalctl", "--directory", cls.journal_dir,
                            "-o", "json", "--no-pager"],
                           capture_output=True, text=True, timeout=20)
        return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]

    @classmethod
    def wait_entry(cls, pred, timeout=10):
        deadline = time.time() + timeout
        while True:
            found = [e for e in cls.entries() if pred(e)]
            if found:
                return found
            if time.time() > deadline:
                raise AssertionError("no such journal entry; the last ones:\n" +
                                     "\n".join(e.get("MESSAGE", "") for e in
                                               cls.entries()[-30:]))
            time.sleep(0.1)

    def test_1_session_fields(self):
        sessions = []
        for _ in range(2):
            c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
            c.login(USER, PASS)
            c.select("INBOX")
            c.logout()
        logins = self.wait_entry(lambda e: e.get("SERVICE") == "imap" and
                                 e.get("USER") == USER and
                                 "Disconnected" in e.get("MESSAGE", ""))
        for e in logins:
            self.assertEqual(e["REMOTE_IP"], "127.0.0.1")
            self.assertRegex(e["SESSION"], r"^\S+$")
            self.assertRegex(e["MESSAGE_ID"], r"^[0-9a-f]{32}$")
            self.assertEqual(e["PRIORITY"], "6")
            self.assertIn(USER, e["MESSAGE"])
            sessions.append(e["SESSION"])
        self.assertGreaterEqual(len(set(sessions)), 2, logins)
        # one kind of line, one MESSAGE_ID, for two sessions
        self.assertEqual(len({e["MESSAGE_ID"] for e in logins}), 1, logins)

    def test_2_lmtp_delivery_fields(self):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.sendmail("sender@example.org", [USER],
                       b"Subject: journald\r\nMessage-ID: <jd1@example.org>\r\n\r\nx\r\n")
        saved = self.wait_entry(lambda e: e.get("SERVICE") == "lmtp" and
                                e.get("USER") == USER and
                                "jd1@example.org" in e.get("MESSAGE", ""))
        self.assertRegex(saved[0]["MESSAGE_ID"], r"^[0-9a-f]{32}$")
        self.assertEqual(saved[0]["REMOTE_IP"], "127.0.0.1")

    def test_3_outside_sessions_and_warnings(self):
        # start-up lines have no user; their SERVICE names the process
        services = {e.get("SERVICE") for e in self.entries()}
        for name in ("imap", "pop3", "lmtp", "auth", "index", "blob"):
            self.assertIn(name, services)
        ready = self.wait_entry(lambda e: re.search(r"all \d+ services ready",
                                                    e.get("MESSAGE", "")))
        # a field with no value is left out
        self.assertNotIn("USER", ready[0])
        self.assertNotIn("SESSION", ready[0])
        self.assertEqual(ready[0]["SYSLOG_IDENTIFIER"], "stratus-stratusctl")
        imap = [e for e in self.entries() if e.get("SERVICE") == "imap"]
        self.assertEqual(imap[0]["SYSLOG_IDENTIFIER"], "stratus-imap")
        # nothing went to the plain log file while journald ran
        self.assertNotRegex(self.stratus.read_log(), r"Info: ")

    def test_4_journald_down_plain_lines(self):
        # a line journald does not take is not lost: it goes to stderr,
        # which the launcher (here stratusctl run's log file) collects
        self.journald.terminate()
        self.journald.wait(timeout=10)
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
        c.login(USER, PASS)
        c.logout()
        self.stratus.wait_log(r"imap\(%s\)<\d+><[^>]+>: Info: Disconnected"
                              % re.escape(USER))


if __name__ == "__main__":
    main()
