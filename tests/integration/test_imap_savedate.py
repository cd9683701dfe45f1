"""SAVEDATE (RFC 8514) against the real service set: FETCH SAVEDATE is
when the message came into its current mailbox (APPEND, and again for
COPY and MOVE), not its INTERNALDATE; SEARCH SAVEDBEFORE / SAVEDON /
SAVEDSINCE compare the save date's day and SAVEDATESUPPORTED matches
every message (the index keeps a save date for all of them). The RFC's
examples' forms, then Python imaplib."""

import imaplib
import re
import socket
import time

from stratus_harness import StratusTestCase, main

USER = "savedate@example.com"
MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"
DATE_RE = rb'"(\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4})"'


def imap_day(t):
    return time.strftime("%d-%b-%Y", time.localtime(t))


class ImapSavedateTest(StratusTestCase):
    users = {USER: "pw"}

    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pw")
        return m

    def savedates(self, m, uid=False):
        typ, data = (m.uid("FETCH", "1:*", "(SAVEDATE)") if uid
                     else m.fetch("1:*", "(SAVEDATE)"))
        self.assertEqual(typ, "OK", data)
        out = []
        for d in data:
            r = re.search(rb"SAVEDATE " + DATE_RE, d)
            self.assertIsNotNone(r, d)
            out.append(time.mktime(time.strptime(r.group(1).decode()[:20],
                                                 "%d-%b-%Y %H:%M:%S")))
        return out

    def test_fetch_and_search(self):
        m = self.login()
        typ, data = m.capability()
        self.assertIn(b"SAVEDATE", data[0].split())
        m.create("sd")
        before = time.time()
        # INTERNALDATE years back: SAVEDATE must not follow it
        typ, _ = m.append("sd", None, '"17-Jul-1996 02:44:25 -0700"', MSG)
        self.assertEqual(typ, "OK")
        m.append("sd", None, None, MSG)
        m.select("sd")
        # RFC 8514 section 3's form: * 1 FETCH (SAVEDATE "...")
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["imap"]), 10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN %s pw\r\nb SELECT sd\r\nc FETCH 1 (SAVEDATE INTERNALDATE)\r\n"
                  % USER.encode())
        line = f.readline()
        while not line.startswith(b"* 1 FETCH"):
            line = f.readline()
        self.assertRegex(line, rb"^\* 1 FETCH \(SAVEDATE " + DATE_RE +
                         rb' INTERNALDATE "17-Jul-1996 \d\d:44:25 [+-]\d{4}"\)\r\n$')
        self.assertTrue(f.readline().startswith(b"c OK"))
        s.close()
        dates = self.savedates(m)
        self.assertEqual(len(dates), 2)
        for d in dates:
            self.assertLessEqual(abs(d - before), 60)
        today = imap_day(time.time())
        typ, data = m.search(None, "SAVEDON", today)
        self.assertEqual(data, [b"1 2"])
        typ, data = m.search(None, "SAVEDSINCE", today)
        self.assertEqual(data, [b"1 2"])
        typ, data = m.search(None, "SAVEDBEFORE", today)
        self.assertEqual(data, [b""])
        typ, data = m.search(None, "SAVEDBEFORE", imap_day(time.time() + 2 * 86400))
        self.assertEqual(data, [b"1 2"])
        typ, data = m.search(None, "SAVEDATESUPPORTED")
        self.assertEqual(data, [b"1 2"])
        # INTERNALDATE keys still use INTERNALDATE
        typ, data = m.search(None, "BEFORE", "1-Jan-2000")
        self.assertEqual(data, [b"1"])
        typ, data = m.search(None, "SAVEDBEFORE", "1-Jan-2000")
        self.assertEqual(data, [b""])
        typ, data = m.search(None, "NOT", "SAVEDSINCE", today)
        self.assertEqual(data, [b""])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD"):
            m.search(None, "SAVEDON", "bad-date")
        m.logout()

    def test_copy_and_move_save_again(self):
        m = self.login()
        m.create("sd-src")
        m.create("sd-copy")
        m.create("sd-move")
        m.append("sd-src", None, None, MSG)
        m.append("sd-src", None, None, MSG)
        m.select("sd-src")
        first = self.savedates(m)
        time.sleep(2.1)
        typ, _ = m.copy("1", "sd-copy")
        self.assertEqual(typ, "OK")
        typ, _ = m._simple_command("MOVE", "2", "sd-move")
        self.assertEqual(typ, "OK")
        for box in ("sd-copy", "sd-move"):
            m.select(box)
            (d,) = self.savedates(m, uid=True)
            self.assertGreaterEqual(d - first[0], 2, box)
        # the source keeps its own
        m.select("sd-src")
        self.assertEqual(self.savedates(m), first[:1])
        m.logout()


if __name__ == "__main__":
    main()
