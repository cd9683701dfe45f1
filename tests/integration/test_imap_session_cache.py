"""svc-imap's per-session shortcuts (bench/PROFILE.md, change 5) keep
answers right: bodies served from the session's fd cache match the
messages through eviction and re-SELECT; an APPEND to the selected
mailbox (GUID known since SELECT) is refused, not misfiled, once another
session deleted and re-created that name; replies written without
waiting for EPOLLOUT still arrive whole and in order to a client that
pipelines or reads slowly."""

import imaplib
import re
import socket
import time

from stratus_harness import StratusTestCase, main


def body(n, size=0):
    pad = b"".join(b"line %06d of message %d\r\n" % (i, n)
                   for i in range(size // 28))
    return (b"From: s%d@example.org\r\nSubject: cache %d\r\n"
            b"Message-ID: <cache%d@example.org>\r\n\r\nbody %d\r\n%s"
            % (n, n, n, n, pad))


class ImapSessionCacheTest(StratusTestCase):
    def login(self, user="user1@example.com", password="pass1"):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, password)
        return m

    def fetch_body(self, m, seq):
        typ, data = m.fetch(str(seq), "(BODY.PEEK[])")
        self.assertEqual(typ, "OK", data)
        return data[0][1]

    def test_body_cache_through_eviction_and_reselect(self):
        m = self.login()
        m.create("CacheBox")
        for n in range(1, 8):
            self.assertEqual(m.append("CacheBox", None, None, body(n))[0], "OK")
        m.select("CacheBox")
        # 7 bodies, 4 cache slots: every pass evicts; order varies.
        for seq in [1, 2, 1, 3, 4, 5, 1, 6, 7, 2, 2, 7, 1, 5, 3]:
            self.assertEqual(self.fetch_body(m, seq), body(seq), seq)
        typ, data = m.fetch("1:7", "(BODY.PEEK[])")
        got = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(got, [body(n) for n in range(1, 8)])
        m.unselect()
        m.select("CacheBox")
        self.assertEqual(self.fetch_body(m, 4), body(4))
        # Another session expunges message 2; this one still reads the
        # right bodies for the others once it has seen the expunge.
        o = self.login()
        o.select("CacheBox")
        o.store("2", "+FLAGS", r"(\Deleted)")
        o.expunge()
        o.logout()
        m.noop()
        self.assertEqual(self.fetch_body(m, 2), body(3))
        self.assertEqual(self.fetch_body(m, 1), body(1))
        m.logout()

    def test_append_to_recreated_selected_mailbox_is_refused(self):
        a = self.login()
        b = self.login()
        a.create("Again")
        a.select("Again")
        typ, data = a.append("Again", None, None, body(100))
        self.assertEqual(typ, "OK", data)
        self.assertEqual(b.delete("Again")[0], "OK")
        self.assertEqual(b.create("Again")[0], "OK")
        typ, data = a.append("Again", None, None, body(101))
        self.assertEqual(typ, "NO", data)
        self.assertIn(b"[TRYCREATE]", data[0])
        typ, data = b.status("Again", "(MESSAGES)")
        self.assertIn(b"MESSAGES 0", data[0])
        # Selected again, the new mailbox's GUID is used.
        a.select("Again")
        typ, data = a.append("Again", None, None, body(102))
        self.assertEqual(typ, "OK", data)
        b.select("Again")
        self.assertEqual(self.fetch_body(b, 1), body(102))
        a.logout()
        b.logout()

    def raw_session(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["imap"]))
        s.settimeout(20)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"l LOGIN user1@example.com pass1\r\n")
        while not f.readline().startswith(b"l "):
            pass
        return s, f

    def raw_ok(self, s, f, tag, line):
        """Sends one command; returns every line up to its tagged OK."""
        s.sendall(b"%s %s\r\n" % (tag, line))
        out = b""
        while True:
            got = f.readline()
            self.assertTrue(got, "connection closed")
            out += got
            if got.startswith(tag + b" "):
                self.assertTrue(got.startswith(tag + b" OK"), out)
                return out

    def read_tagged(self, f, tag):
        lits = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed")
            lit = re.search(rb"\{(\d+)\}\r\n$", line)
            if lit:
                lits.append(f.read(int(lit.group(1))))
            if line.startswith(tag + b" "):
                return line, lits

    def test_other_sessions_changes_ride_along_with_commands(self):
        """The untagged updates a command's index call brings back (its
        piggybacked Wait) are those a separate Wait would bring: another
        session's new message, flag change and expunge, each at the
        next UID command, never twice, and the session's own STORE not
        echoed again."""
        a = self.login()
        a.create("Ride")
        for n in range(1, 4):
            a.append("Ride", None, None, body(n))
        a.select("Ride")
        b, bf = self.raw_session()

        def cmd(tag, line):
            return self.raw_ok(b, bf, tag, line)

        cmd(b"s", b"SELECT Ride")

        a.append("Ride", None, None, body(4))
        out = cmd(b"f1", b"UID FETCH 1 (FLAGS)")
        self.assertIn(b"* 4 EXISTS", out)
        self.assertNotIn(b"EXISTS", cmd(b"f2", b"UID FETCH 1 (FLAGS)"))
        a.store("2", "+FLAGS", r"(\Flagged)")
        out = cmd(b"s1", b"UID SEARCH ALL")
        self.assertRegex(out, rb"\* 2 FETCH \(UID 2 FLAGS \([^)]*\\Flagged")
        self.assertIn(b"* SEARCH 1 2 3 4", out)
        out = cmd(b"t1", b"UID STORE 3 +FLAGS (\\Seen)")
        self.assertEqual(out.count(b"* 3 FETCH"), 1, out)
        self.assertNotIn(b"* 2 FETCH", out)
        self.assertNotIn(b"FETCH", cmd(b"n1", b"NOOP"))
        a.store("1", "+FLAGS", r"(\Deleted)")
        a.expunge()
        out = cmd(b"u1", b"UID FETCH 1:* (UID)")
        self.assertIn(b"* 1 EXPUNGE", out)
        self.assertNotIn(b"UID 1 ", out)
        self.assertEqual(len(re.findall(rb"\* \d+ FETCH", out)), 3, out)
        self.assertNotIn(b"EXPUNGE", cmd(b"n2", b"NOOP"))
        b.sendall(b"z LOGOUT\r\n")
        b.close()
        a.logout()

    def test_non_uid_commands_hold_expunges_back(self):
        """A non-UID FETCH, STORE, SEARCH or SORT reports another
        session's new messages and flag changes, but not its expunges
        (RFC 3501 7.4.1): those wait, the messages keeping their
        sequence numbers, until a command that may send them (NOOP),
        and then come once each."""
        a = self.login()
        a.create("Hold")
        for n in range(1, 5):
            a.append("Hold", None, None, body(n))
        b, bf = self.raw_session()

        def cmd(tag, line):
            return self.raw_ok(b, bf, tag, line)

        cmd(b"s", b"SELECT Hold")
        a.select("Hold")
        a.append("Hold", None, None, body(5))
        self.assertIn(b"* 5 EXISTS", cmd(b"f1", b"FETCH 1 (FLAGS)"))
        a.store("1", "+FLAGS", r"(\Deleted)")
        a.expunge()
        a.store("3", "+FLAGS", r"(\Flagged)")  # UID 4 now
        out = cmd(b"f2", b"FETCH 4 (UID)")
        self.assertNotIn(b"EXPUNGE", out)
        # UID 4 is still sequence 4 here: UID 1's expunge is held.
        self.assertRegex(out, rb"\* 4 FETCH \(UID 4 FLAGS \([^)]*\\Flagged")
        self.assertIn(b"* 4 FETCH (UID 4)", out)
        out = cmd(b"s2", b"SEARCH ALL")
        self.assertNotIn(b"EXPUNGE", out)
        self.assertIn(b"* SEARCH 2 3 4 5", out)
        a.append("Hold", None, None, body(6))
        out = cmd(b"t2", b"STORE 2 +FLAGS (\\Seen)")
        self.assertNotIn(b"EXPUNGE", out)
        self.assertIn(b"* 6 EXISTS", out)
        self.assertIn(b"* 2 FETCH", out)
        out = cmd(b"n1", b"NOOP")
        self.assertEqual(out.count(b"EXPUNGE"), 1, out)
        self.assertIn(b"* 1 EXPUNGE", out)
        self.assertNotIn(b"EXPUNGE", cmd(b"n2", b"NOOP"))
        out = cmd(b"f3", b"FETCH 3 (UID)")
        self.assertIn(b"* 3 FETCH (UID 4)", out)
        # Held expunges do not outlive the mailbox they belong to.
        a.store("1", "+FLAGS", r"(\Deleted)")
        a.expunge()
        self.assertNotIn(b"EXPUNGE", cmd(b"f4", b"FETCH 1 (UID)"))
        out = cmd(b"s3", b"SELECT Hold")
        self.assertIn(b"* 4 EXISTS", out)
        self.assertNotIn(b"EXPUNGE", out)
        self.assertNotIn(b"EXPUNGE", cmd(b"n3", b"NOOP"))
        b.sendall(b"z LOGOUT\r\n")
        b.close()
        a.logout()

    def test_pipelined_commands_answered_in_order(self):
        m = self.login()
        m.create("Pipe")
        m.append("Pipe", None, None, body(1))
        m.logout()
        s, f = self.raw_session()
        cmds = b"s SELECT Pipe\r\n" + b"".join(
            b"p%d %s\r\n" % (i, b"FETCH 1 (BODY.PEEK[])" if i % 3 == 0
                             else b"NOOP" if i % 3 == 1 else b"SEARCH ALL")
            for i in range(150))
        s.sendall(cmds)
        self.assertIn(b"OK", self.read_tagged(f, b"s")[0])
        for i in range(150):
            line, lits = self.read_tagged(f, b"p%d" % i)
            self.assertIn(b"OK", line)
            if i % 3 == 0:
                self.assertEqual(lits, [body(1)])
        s.close()

    def test_large_fetch_to_a_slow_reader(self):
        big = body(7, 3 * 1024 * 1024)
        m = self.login()
        m.create("Big")
        self.assertEqual(m.append("Big", None, None, big)[0], "OK")
        m.logout()
        s, f = self.raw_session()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.sendall(b"s SELECT Big\r\nf1 FETCH 1 (BODY.PEEK[])\r\n"
                  b"f2 FETCH 1 (RFC822.SIZE)\r\n")
        time.sleep(1.5)	# the server meets a full socket and waits
        self.read_tagged(f, b"s")
        line, lits = self.read_tagged(f, b"f1")
        self.assertIn(b"OK", line)
        self.assertEqual(lits, [big])
        line, _ = self.read_tagged(f, b"f2")
        self.assertIn(b"OK", line)
        s.close()


if __name__ == "__main__":
    main()
