"""svc-pop3's read-ahead (issue 15): while a client reads its maildrop the
Gets of the next messages (up to 16) are already answered and held as
fds. These tests check that the answers stay those of the message asked
for, whatever the order, with DELE/RSET/TOP in between, pipelined, and
with lines that need dot-stuffing; that each message is fetched from
svc-blob once when read in order; and that the held fds stay bounded and
are all closed when the session ends. Behaviour only, no timing."""

import os
import re
import smtplib
import socket
import time

from stratus_harness import StratusTestCase, main

N = 40
USER = "ra1@example.com"


def body(n):
    """Message n: its number in the subject; some with lines starting with
    '.', a bare LF message, sizes from 100 B to 230 KB (two preads) and
    one of 390 KB (more than the output's high mark: it streams)."""
    lines = [b"Subject: msg %d" % n, b"X-N: %d" % n, b""]
    if n % 3 == 0:
        lines += [b".", b"..two dots %d" % n, b".x", b"mid . dot"]
    size = {0: 1, 1: 40, 2: 3000}[n % 3] if n != 20 else 5000
    lines += [b"line %d of %d: %s" % (i, n, b"y" * 60) for i in range(size)]
    text = b"\r\n".join(lines) + b"\r\n"
    if n == 11:     # bare LF (the last line keeps CRLF: smtplib adds one)
        text = text.replace(b"\r\n", b"\n")[:-1] + b"\r\n"
    return text


def wire(raw):
    """What RETR sends for a stored message (before the final '.'): CRLF
    lines, dot-stuffed."""
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return b"".join((b"." + l if l.startswith(b".") else l)
                    for l in crlf.splitlines(keepends=True))


class Pop3ReadAheadTest(StratusTestCase):
    users = {USER: "pw", "ra2@example.com": "pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with smtplib.LMTP("127.0.0.1", cls.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            for n in range(1, N + 1):
                for user in (USER, "ra2@example.com"):
                    l.sendmail("a@example.org", [user], body(n))

    def session(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["pop3"]), 10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        return s, f

    def login(self, user=USER):
        s, f = self.session()
        s.sendall(b"USER %s\r\nPASS pw\r\n" % user.encode())
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(f.readline().startswith(b"+OK"), "login")
        return s, f

    def cmd(self, s, f, line):
        s.sendall(line + b"\r\n")
        return f.readline()

    def multiline(self, f):
        data = b""
        while True:
            l = f.readline()
            self.assertTrue(l.endswith(b"\r\n"), l)
            if l == b".\r\n":
                return data
            data += l

    def retr(self, s, f, n):
        st = self.cmd(s, f, b"RETR %d" % n)
        self.assertTrue(st.startswith(b"+OK"), (n, st))
        return self.multiline(f)

    def check_msg(self, n, got):
        """got is message n (its trace headers aside) as POP3 must send it."""
        want = wire(body(n))
        self.assertTrue(got.endswith(want), "RETR %d answered another message: %r" %
                        (n, got[:200]))
        self.assertRegex(got, rb"^Return-Path: ")

    def status(self, name):
        out = self.stratus.ctl("status", "pop3").stdout
        m = re.search(r"\b%s[ =](\d+)" % name, out)
        self.assertIsNotNone(m, out)
        return int(m.group(1))

    def pop3_fds(self):
        return len(os.listdir("/proc/%d/fd" % self.stratus.pid_of("pop3")))

    def test_1_in_order_each_message_fetched_once(self):
        gets = self.status("blob_gets")
        s, f = self.login("ra2@example.com")
        self.assertTrue(self.cmd(s, f, b"STAT").startswith(b"+OK %d " % N))
        for n in range(1, N + 1):
            self.check_msg(n, self.retr(s, f, n))
        self.assertTrue(self.cmd(s, f, b"QUIT").startswith(b"+OK"))
        f.close()
        s.close()
        # read in order: every Get was read ahead and used, none twice
        self.assertEqual(self.status("blob_gets") - gets, N)

    def test_2_out_of_order_top_and_pipelined(self):
        s, f = self.login()
        order = [1, 2, 3, 4, 5, 9, 6, 7, 8, 30, 31, 12, 40, 39, 10, 11, 13, 14]
        for n in order:
            self.check_msg(n, self.retr(s, f, n))
            if n == 5:
                # TOP of a message in the window: header + 2 body lines
                st = self.cmd(s, f, b"TOP 8 2")
                self.assertTrue(st.startswith(b"+OK"), st)
                top = self.multiline(f)
                head, _, rest = top.partition(b"\r\n\r\n")
                self.assertIn(b"Subject: msg 8\r\n", head)
                self.assertEqual(rest, b"line 0 of 8: %s\r\nline 1 of 8: %s\r\n"
                                 % (b"y" * 60, b"y" * 60))
        # PIPELINING: 20 RETRs in one write, answered in order
        s.sendall(b"".join(b"RETR %d\r\n" % n for n in range(15, 35)))
        for n in range(15, 35):
            st = f.readline()
            self.assertTrue(st.startswith(b"+OK"), (n, st))
            self.check_msg(n, self.multiline(f))
        self.assertTrue(self.cmd(s, f, b"RSET").startswith(b"+OK"))
        self.assertTrue(self.cmd(s, f, b"QUIT").startswith(b"+OK"))
        f.close()
        s.close()

    def test_3_dele_rset_of_read_ahead_messages(self):
        s, f = self.login()
        for n in (1, 2, 3, 4):
            self.check_msg(n, self.retr(s, f, n))
        # 5..8 are read ahead by now: DELE them, they stay refused
        for n in (5, 6):
            self.assertTrue(self.cmd(s, f, b"DELE %d" % n).startswith(b"+OK"))
        self.assertEqual(self.cmd(s, f, b"RETR 5"), b"-ERR Message is deleted.\r\n")
        self.assertEqual(self.cmd(s, f, b"TOP 6 0"), b"-ERR Message is deleted.\r\n")
        self.check_msg(7, self.retr(s, f, 7))
        self.assertTrue(self.cmd(s, f, b"STAT").startswith(b"+OK %d " % (N - 2)))
        # RSET brings them back, with their own bodies
        self.assertTrue(self.cmd(s, f, b"RSET").startswith(b"+OK"))
        for n in (5, 6, 8, 9):
            self.check_msg(n, self.retr(s, f, n))
        # a DELE ahead of the reader, then QUIT: only that one is expunged
        self.assertTrue(self.cmd(s, f, b"DELE 12").startswith(b"+OK"))
        for n in (10, 11, 13):
            self.check_msg(n, self.retr(s, f, n))
        self.assertTrue(self.cmd(s, f, b"QUIT").startswith(b"+OK"))
        f.close()
        s.close()
        s, f = self.login()
        self.assertTrue(self.cmd(s, f, b"STAT").startswith(b"+OK %d " % (N - 1)))
        # message 13 is number 12 now
        self.check_msg(13, self.retr(s, f, 12))
        self.check_msg(11, self.retr(s, f, 11))
        self.assertTrue(self.cmd(s, f, b"QUIT").startswith(b"+OK"))
        f.close()
        s.close()

    def test_4_fds_bounded_and_released(self):
        s, f = self.login("ra2@example.com")     # svc-pop3's RPC connections
        self.check_msg(1, self.retr(s, f, 1))
        self.assertTrue(self.cmd(s, f, b"QUIT").startswith(b"+OK"))
        f.close()
        s.close()
        time.sleep(0.2)
        base = self.pop3_fds()
        s, f = self.login("ra2@example.com")
        for n in range(1, 9):
            self.check_msg(n, self.retr(s, f, n))
        # the client socket, the window (16 at most), a closing body fd
        held = self.pop3_fds() - base
        self.assertGreater(held, 1)
        self.assertLessEqual(held, 1 + 16 + 1)
        # gone without QUIT, with Gets in flight
        f.close()
        s.close()
        for _ in range(100):
            if self.pop3_fds() <= base:
                break
            time.sleep(0.05)
        self.assertEqual(self.pop3_fds(), base)
        # and the next session reads the same messages
        s, f = self.login("ra2@example.com")
        for n in (1, 2, 3, 20):
            self.check_msg(n, self.retr(s, f, n))
        self.assertTrue(self.cmd(s, f, b"QUIT").startswith(b"+OK"))
        f.close()
        s.close()


if __name__ == "__main__":
    main()
