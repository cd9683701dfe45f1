"""stratusctl kick, as doveadm kick: the named user's real IMAP and POP3
sessions are closed by svc-imap and svc-pop3 (the IMAP client reads
"* BYE", the POP3 client "-ERR", then EOF) while another user's sessions
stay usable; masks and IPs select too; POP3 messages marked with DELE
survive a kick (no UPDATE state); --json lists each session; a clear error
when svc-imap is not running. `log errors` shows a refused reload's error
as svc-imap logged it."""

import imaplib
import json
import os
import poplib
import signal
import smtplib
import socket
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus, main

USERS = {"kick1@example.com": "pass1", "kick2@example.com": "pass2",
         "other@example.org": "pass3"}


def read_until_eof(sock, timeout=10):
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            sock.close()
            return data
        data += chunk


class CtlKickTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stratus = Stratus(users=USERS).start()
        with smtplib.LMTP("127.0.0.1", cls.stratus.ports["lmtp"]) as l:
            for user in USERS:
                for i in range(2):
                    l.sendmail("a@example.net", [user],
                               "Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def imap(self, user):
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        c.login(user, USERS[user])
        c.select("INBOX")
        return c

    def pop3(self, user):
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"])
        p.user(user)
        p.pass_(USERS[user])
        return p

    def test_kick_user_closes_imap_and_pop3(self):
        victim = self.imap("kick1@example.com")
        victim_pop = self.pop3("kick1@example.com")
        bystander = self.imap("other@example.org")
        out = self.stratus.ctl("kick", "kick1@example.com").stdout
        self.assertEqual(out, "kicked connections from the following users:\n"
                              "kick1@example.com\n")
        rest = read_until_eof(victim.sock)
        self.assertIn(b"* BYE Kicked by admin.", rest)
        rest = read_until_eof(victim_pop.sock)
        self.assertIn(b"-ERR Kicked by admin.", rest)
        # the other user's session goes on
        self.assertEqual(bystander.noop()[0], "OK")
        self.assertEqual(bystander.search(None, "ALL")[1][0].split(), [b"1", b"2"])
        bystander.logout()
        self.stratus.wait_log(r"Disconnected: Kicked by admin")
        # who no longer lists the kicked user's sessions
        deadline = time.time() + 5
        while "kick1@example.com" in self.stratus.ctl("who").stdout and time.time() < deadline:
            time.sleep(0.1)
        self.assertNotIn("kick1@example.com", self.stratus.ctl("who").stdout)
        # and can log in again
        again = self.imap("kick1@example.com")
        again.logout()

    def test_kick_keeps_pop3_deletes_undone(self):
        p = self.pop3("kick2@example.com")
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        self.stratus.ctl("kick", "kick2@*")
        read_until_eof(p.sock)
        p2 = self.pop3("kick2@example.com")
        self.assertEqual(p2.stat()[0], 2)
        p2.quit()

    def test_mask_json_and_ip(self):
        a = self.imap("kick1@example.com")
        b = self.pop3("kick2@example.com")
        rows = json.loads(self.stratus.ctl("kick", "--json", "kick?@example.com").stdout)
        self.assertEqual(sorted((r["user"], r["service"], r["ip"]) for r in rows),
                         [("kick1@example.com", "imap", "127.0.0.1"),
                          ("kick2@example.com", "pop3", "127.0.0.1")])
        self.assertTrue(all(r["session"] for r in rows))
        read_until_eof(a.sock)
        read_until_eof(b.sock)
        # by network: every session from 127.0.0.0/8
        c = self.imap("other@example.org")
        out = self.stratus.ctl("kick", "127.0.0.0/8").stdout
        self.assertIn("other@example.org", out)
        read_until_eof(c.sock)
        # nobody left to kick
        self.assertEqual(self.stratus.ctl("kick", "nobody@example.com").stdout, "no users found\n")

    def test_not_logged_in_is_not_kicked(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["imap"]))
        s.settimeout(5)
        self.assertTrue(s.recv(4096).startswith(b"* OK"))
        self.stratus.ctl("kick", "127.0.0.1")
        s.sendall(b"a NOOP\r\n")
        self.assertIn(b"a OK", s.recv(4096))
        s.close()

    def test_log_errors(self):
        with open(self.stratus.config) as f:
            good = f.read()
        start = len(self.stratus.read_log())
        pid = self.stratus.pid_of("imap")
        try:
            with open(self.stratus.config, "a") as f:
                f.write("\nthis is not a setting {\n")
            os.kill(pid, signal.SIGHUP)
            self.stratus.wait_log(r"imap: Error: reload refused", start_at=start)
        finally:
            with open(self.stratus.config, "w") as f:
                f.write(good)
        out = self.stratus.ctl("log", "errors").stdout
        self.assertRegex(out, r"(?m)^\w{3} \d\d \d\d:\d\d:\d\d Error: imap: reload refused, "
                              r"the running configuration is kept: .*stratus\.conf:\d+")
        rows = json.loads(self.stratus.ctl("log", "errors", "--json").stdout)
        refused = [r for r in rows if "reload refused" in r["text"]]
        self.assertEqual([(r["service"], r["level"]) for r in refused], [("imap", "error")])
        self.assertGreater(refused[0]["time"], time.time() - 120)
        # -s: only what came since
        later = str(int(time.time()) + 3600)
        self.assertEqual(self.stratus.ctl("log", "errors", "-s", later).stdout, "")

    def test_service_down(self):
        st = Stratus(users=USERS)
        try:
            r = st.ctl("kick", "kick1@example.com", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"imap Kick: .*is stratus-imap running\?")
        finally:
            st.cleanup()


if __name__ == "__main__":
    main()
