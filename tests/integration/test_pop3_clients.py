"""Real POP3 clients against mail delivered by LMTP: fetchmail (POP3
mode, keep + UIDL) and getmail6 (SimplePOP3Retriever, oldmail state)
each retrieve 1,000 messages, and a second run fetches nothing new while
a later delivery is fetched alone."""

import os
import poplib
import shutil
import socket
import subprocess
import time
import unittest

from stratus_harness import StratusTestCase, main

N = 1000


def read_reply(f):
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("LMTP connection closed")
        if line[3:4] != b"-":
            return line.decode()


def lmtp_deliver_many(port, rcpts, bodies):
    """One connection, one transaction per body, every recipient per
    transaction (several DATA replies: smtplib cannot read those)."""
    s = socket.create_connection(("127.0.0.1", port), 30)
    f = s.makefile("rb")
    replies = []
    with s:
        read_reply(f)
        s.sendall(b"LHLO test\r\n")
        read_reply(f)
        for body in bodies:
            cmds = b"MAIL FROM:<a@example.org>\r\n" + b"".join(
                b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts) + b"DATA\r\n"
            s.sendall(cmds)
            for _ in range(len(rcpts) + 2):
                read_reply(f)
            s.sendall(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            replies.append([read_reply(f) for _ in rcpts])
        s.sendall(b"QUIT\r\n")
    return replies


@unittest.skipUnless(shutil.which("fetchmail") and shutil.which("getmail"),
                     "fetchmail/getmail6 not installed (tools/install-deps.sh)")
class Pop3ClientsTest(StratusTestCase):
    users = {"fm@example.com": "fmpass", "gm@example.com": "gmpass",
             "gmcopy@example.com": "gmcopypass"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t0 = time.time()
        bodies = [b"From: a@example.org\r\nSubject: msg %d\r\nMessage-ID: <%d@t>\r\n\r\n"
                  b"body of %d\r\n.dot\r\n" % (i, i, i) for i in range(N)]
        replies = lmtp_deliver_many(cls.stratus.ports["lmtp"],
                                    ["fm@example.com", "gm@example.com"], bodies)
        for r in replies:
            for line in r:
                assert line.startswith("250 2.0.0 "), line
        print("delivered %d messages to 2 recipients in %.1f s" % (N, time.time() - t0))
        cls.work = os.path.join(cls.stratus.dir, "clients")
        os.makedirs(cls.work)
        os.chmod(cls.work, 0o777)

    def fetchmail(self):
        rc = os.path.join(self.work, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no syslog\npoll 127.0.0.1 protocol POP3 port %d uidl\n'
                    '  user "fm@example.com" there password "fmpass" is root here\n'
                    "  sslproto '' keep\n" % self.stratus.ports["pop3"])
        os.chmod(rc, 0o600)
        out = os.path.join(self.work, "fm.bsmtp")
        # --pidfile: as root fetchmail locks /var/run/fetchmail.pid whatever
        # FETCHMAILHOME says, and other tests run fetchmail in parallel
        r = subprocess.run(["fetchmail", "-f", rc, "--bsmtp", out,
                            "--pidfile", os.path.join(self.work, "fetchmail.pid")],
                           env=dict(os.environ, FETCHMAILHOME=self.work),
                           capture_output=True, text=True, timeout=300)
        text = ""
        if os.path.exists(out):
            with open(out, errors="replace") as f:
                text = f.read()
        return r, text.count("\nDATA\n") + text.startswith("DATA\n")

    def getmail(self):
        """getmail6 retrieves gm@'s mail over POP3 and hands each message to
        Stratus's LMTP for gmcopy@ (MDA_lmtp). Its Mboxrd/Maildir/MDA
        destinations fork a child per message and wait for it with a
        SIGCHLD handler that can deadlock (getmailcore ForkingBase: the
        handler takes the lock the waiting thread holds), which hung
        1,000-message runs now and then; MDA_lmtp delivers in-process.
        Returns (result, messages gmcopy@ holds)."""
        with open(os.path.join(self.work, "getmailrc"), "w") as f:
            f.write("[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\n"
                    "port = %d\nusername = gm@example.com\npassword = gmpass\n\n"
                    "[destination]\ntype = MDA_lmtp\nhost = 127.0.0.1\nport = %d\n"
                    "override = gmcopy@example.com\n\n"
                    "[options]\nread_all = false\ndelete = false\nverbose = 0\n"
                    % (self.stratus.ports["pop3"], self.stratus.ports["lmtp"]))
        # getmail refuses to run as root: run it as nobody
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "getmail", "--getmaildir", self.work, "--rcfile", "getmailrc"],
                           capture_output=True, text=True, timeout=300)
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=30)
        try:
            p.user("gmcopy@example.com")
            p.pass_("gmcopypass")
            return r, p.stat()[0]
        finally:
            p.quit()

    def gmcopy_message(self, n):
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=30)
        try:
            p.user("gmcopy@example.com")
            p.pass_("gmcopypass")
            return b"\n".join(p.retr(n)[1]) + b"\n"
        finally:
            p.quit()

    def test_fetchmail_twice(self):
        r, n = self.fetchmail()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(n, N)
        r, n2 = self.fetchmail()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)   # 1 = no new mail
        self.assertEqual(n2, N)
        lmtp_deliver_many(self.stratus.ports["lmtp"], ["fm@example.com"],
                          [b"Subject: late\r\n\r\nlate\r\n"])
        r, n3 = self.fetchmail()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(n3, N + 1)

    def test_getmail_twice(self):
        r, n = self.getmail()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(n, N)
        r, n2 = self.getmail()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(n2, N)
        # the copies arrive in POP3 order, bodies intact (dot-stuffing of
        # both hops undone)
        for i in (0, N // 2, N - 1):
            data = self.gmcopy_message(i + 1)
            self.assertIn(b"Subject: msg %d\n" % i, data)
            self.assertIn(b"\nbody of %d\n.dot\n" % i, data)


if __name__ == "__main__":
    main()
