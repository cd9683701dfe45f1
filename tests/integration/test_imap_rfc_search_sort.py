"""RFC examples, byte for byte on raw sockets: ESEARCH (RFC 4731),
SEARCHRES (RFC 5182), WITHIN (RFC 5032), SORT with the base subject
(RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT (RFC 5267)."""

import imaplib
import socket
import time
import unittest

from stratus_harness import StratusTestCase, main


class Raw:
    def __init__(self, port, user):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        self.ok("LOGIN %s pw" % user)

    def cmd(self, text, tag=None):
        self.n += 1
        tag = tag or "t%d" % self.n
        self.s.sendall(("%s %s\r\n" % (tag, text)).encode())
        lines = []
        while True:
            line = self.f.readline().decode()
            if not line:
                raise EOFError(text)
            if line.startswith(tag + " "):
                return lines, line
            lines.append(line)

    def ok(self, text, tag=None):
        lines, tagged = self.cmd(text, tag)
        assert tagged.split(" ")[1] == "OK", (text, lines, tagged)
        return lines

    def close(self):
        self.s.close()


def msg(subject, frm, date, body=b"x"):
    return (b"From: %s\r\nTo: to@example.org\r\nSubject: %s\r\n"
            b"Date: %s\r\n\r\n%s\r\n" % (frm, subject, date, body))


class RfcSearchSortTest(StratusTestCase):
    users = {"es@example.com": "pw", "sr@example.com": "pw",
             "wi@example.com": "pw", "so@example.com": "pw",
             "th@example.com": "pw", "cl@example.com": "pw",
             "cu@example.com": "pw", "ss@example.com": "pw",
             "ma@example.com": "pw"}

    def fill(self, user, msgs, flagged=(), dates=None):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, "pw")
        for i, body in enumerate(msgs):
            date = dates[i] if dates else None
            typ, _ = m.append("INBOX", None, date, body)
            self.assertEqual(typ, "OK")
        m.select("INBOX")
        for n in flagged:
            m.store(str(n), "+FLAGS", "\\Flagged")
        m.logout()
        return Raw(self.stratus.ports["imap"], user)

    def test_esearch_rfc4731_examples(self):
        plain = [msg(b"s%d" % i, b"a@b", b"1 Jan 2020 00:00:00 +0000")
                 for i in range(12)]
        r = self.fill("es@example.com", plain, flagged=(2, 10, 11))
        r.ok("SELECT INBOX")
        caps = r.ok("CAPABILITY")[0]
        for c in ("ESEARCH", "SEARCHRES", "WITHIN", "SORT", "SORT=DISPLAY",
                  "ESORT"):
            self.assertIn(" " + c, caps)
        self.assertEqual(r.ok("SEARCH RETURN (MIN COUNT) FLAGGED", "A282"),
                         ['* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'])
        self.assertEqual(r.ok("SEARCH RETURN () FLAGGED", "A283"),
                         ['* ESEARCH (TAG "A283") ALL 2,10:11\r\n'])
        self.assertEqual(r.ok("UID SEARCH RETURN (COUNT) FLAGGED", "A284"),
                         ['* ESEARCH (TAG "A284") UID COUNT 3\r\n'])
        self.assertEqual(r.ok("SEARCH RETURN (MIN MAX) FLAGGED SEEN", "A285"),
                         ['* ESEARCH (TAG "A285")\r\n'])
        self.assertEqual(r.ok("SEARCH RETURN (MAX ALL) FLAGGED", "A286"),
                         ['* ESEARCH (TAG "A286") MAX 11 ALL 2,10:11\r\n'])
        _, t = r.cmd("SEARCH RETURN (FOO) ALL")
        self.assertIn(" BAD ", t)
        # Plain SEARCH is unchanged.
        self.assertEqual(r.ok("SEARCH FLAGGED"), ["* SEARCH 2 10 11\r\n"])
        r.close()

    def test_searchres_rfc5182_examples(self):
        plain = [msg(b"s%d" % i, b"a@b", b"1 Jan 2020 00:00:00 +0000")
                 for i in range(6)]
        r = self.fill("sr@example.com", plain, flagged=(2, 4, 5))
        r.ok("SELECT INBOX")
        # SAVE alone: no ESEARCH response (RFC 5182 2.1).
        self.assertEqual(r.ok("SEARCH RETURN (SAVE) FLAGGED", "A282"), [])
        self.assertEqual(r.ok("FETCH $ (UID)"),
                         ["* 2 FETCH (UID 2)\r\n", "* 4 FETCH (UID 4)\r\n",
                          "* 5 FETCH (UID 5)\r\n"])
        self.assertEqual(r.ok("SEARCH $ NOT 4"), ["* SEARCH 2 5\r\n"])
        self.assertEqual(r.ok("UID SEARCH UID $"), ["* SEARCH 2 4 5\r\n"])
        # SAVE with MIN MAX keeps only those two (2.4).
        self.assertEqual(r.ok("SEARCH RETURN (SAVE MIN MAX) FLAGGED", "A2"),
                         ['* ESEARCH (TAG "A2") MIN 2 MAX 5\r\n'])
        self.assertEqual(r.ok("SEARCH $"), ["* SEARCH 2 5\r\n"])
        self.assertEqual(r.ok("SEARCH RETURN (SAVE MIN COUNT) FLAGGED",
                              "A3"),
                         ['* ESEARCH (TAG "A3") MIN 2 COUNT 3\r\n'])
        self.assertEqual(r.ok("SEARCH $"), ["* SEARCH 2 4 5\r\n"])
        # Used by STORE, then an expunged message drops out of $.
        r.ok("STORE $ +FLAGS.SILENT (\\Deleted)")
        r.ok("UID EXPUNGE 4")
        self.assertEqual(r.ok("UID SEARCH $"), ["* SEARCH 2 5\r\n"])
        # A failed SAVE search empties it; a new SELECT too.
        r.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")
        self.assertEqual(r.ok("SEARCH $"), ["* SEARCH\r\n"])
        r.ok("SEARCH RETURN (SAVE) ALL")
        r.ok("SELECT INBOX")
        self.assertEqual(r.ok("SEARCH $"), ["* SEARCH\r\n"])
        r.close()

    def test_within_rfc5032(self):
        now = time.time()
        plain = [msg(b"old", b"a@b", b"1 Jan 2020 00:00:00 +0000"),
                 msg(b"new", b"a@b", b"1 Jan 2020 00:00:00 +0000")]
        r = self.fill("wi@example.com", plain,
                      dates=[imaplib.Time2Internaldate(now - 2 * 86400),
                             imaplib.Time2Internaldate(now - 60)])
        r.ok("SELECT INBOX")
        self.assertEqual(r.ok("SEARCH YOUNGER 3600"), ["* SEARCH 2\r\n"])
        self.assertEqual(r.ok("SEARCH OLDER 3600"), ["* SEARCH 1\r\n"])
        self.assertEqual(r.ok("SEARCH YOUNGER 259200"), ["* SEARCH 1 2\r\n"])
        _, t = r.cmd("SEARCH OLDER 0")
        self.assertIn(" BAD ", t)
        r.close()

    def test_sort_rfc5256_5957_5267(self):
        plain = [
            # 1: base subject "hello" (RFC 5256 2.1 steps 2-6)
            msg(b"Re: [fwd: Re: Hello] (fwd)", b"Zed <zed@b.example>",
                b"Tue, 3 Mar 2020 10:00:00 +0000", b"xxxxxxxxxxxxxxxx"),
            # 2: "abc", encoded word
            msg(b"=?utf-8?q?Fwd=3A_abc?=", b"\"Anna\" <yy@b.example>",
                b"Mon, 2 Mar 2020 10:00:00 +0000"),
            # 3: "zzz" (a blob with text after it goes)
            msg(b"RE:   [list]   zzz", b"mid@b.example",
                b"Sun, 1 Mar 2020 10:00:00 -0500", b"xxxxxxxx"),
            # 4: no Date: sorts by INTERNALDATE (the APPEND time, later)
            b"From: Bob <aa@b.example>\r\nSubject: [x] Hello\r\n\r\nz\r\n",
        ]
        r = self.fill("so@example.com", plain, dates=[
            '"%02d-Jan-2021 00:00:00 +0000"' % (i + 1) for i in range(4)])
        r.ok("SELECT INBOX")
        self.assertEqual(r.ok("SORT (SUBJECT) UTF-8 ALL"),
                         ["* SORT 2 1 4 3\r\n"])
        self.assertEqual(r.ok("SORT (DATE) UTF-8 ALL"),
                         ["* SORT 3 2 1 4\r\n"])
        self.assertEqual(r.ok("SORT (REVERSE DATE) UTF-8 ALL"),
                         ["* SORT 4 1 2 3\r\n"])
        self.assertEqual(r.ok("SORT (FROM) UTF-8 ALL"),
                         ["* SORT 4 3 2 1\r\n"])
        self.assertEqual(r.ok("SORT (DISPLAYFROM) UTF-8 ALL"),
                         ["* SORT 2 4 3 1\r\n"])
        self.assertEqual(r.ok("SORT (SIZE ARRIVAL) US-ASCII ALL"),
                         ["* SORT 4 3 2 1\r\n"])
        self.assertEqual(r.ok("SORT (SUBJECT REVERSE ARRIVAL) UTF-8 ALL"),
                         ["* SORT 2 4 1 3\r\n"])
        self.assertEqual(r.ok("UID SORT (SUBJECT) UTF-8 NOT 3"),
                         ["* SORT 2 1 4\r\n"])
        self.assertEqual(r.ok("UID SORT RETURN (MIN MAX COUNT ALL) (DATE) "
                              "UTF-8 ALL", "E1"),
                         ['* ESEARCH (TAG "E1") UID MIN 3 MAX 4 COUNT 4 '
                          'ALL 3,2,1,4\r\n'])
        self.assertEqual(r.ok("SORT RETURN () (DATE) UTF-8 2:4", "E2"),
                         ['* ESEARCH (TAG "E2") ALL 3,2,4\r\n'])
        self.assertEqual(r.ok("SORT (SUBJECT) UTF-8 SUBJECT nomatch"),
                         ["* SORT\r\n"])
        _, t = r.cmd("SORT (SUBJECT) KOI8-R ALL")
        self.assertIn(" NO [BADCHARSET", t)
        for bad in ("SORT (REVERSE) UTF-8 ALL", "SORT () UTF-8 ALL",
                    "SORT (FOO) UTF-8 ALL", "SORT SUBJECT UTF-8 ALL"):
            _, t = r.cmd(bad)
            self.assertIn(" BAD ", t, bad)
        r.close()

    def test_thread_rfc5256(self):
        def m(n, subject, day, refs=b""):
            return (b"From: a@b\r\nSubject: %s\r\nMessage-ID: <%d@x>\r\n"
                    b"%sDate: %s Mar 2020 10:00:00 +0000\r\n\r\nx\r\n"
                    % (subject, n, b"References: " + refs + b"\r\n"
                       if refs else b"", day))
        plain = [m(1, b"hello", b"1"), m(2, b"Re: hello", b"2", b"<1@x>"),
                 m(3, b"Re: hello", b"3", b"<1@x> <2@x>"),
                 m(4, b"Re: hello", b"4", b"<1@x>"),
                 m(5, b"other", b"0"), m(6, b"Re: other", b"5"),
                 m(7, b"lost", b"6", b"<missing@x>")]
        plain[4] = plain[4].replace(b"0 Mar", b"28 Feb")
        r = self.fill("th@example.com", plain)
        r.ok("SELECT INBOX")
        caps = r.ok("CAPABILITY")[0]
        self.assertIn(" THREAD=ORDEREDSUBJECT THREAD=REFERENCES", caps)
        self.assertEqual(r.ok("THREAD REFERENCES UTF-8 ALL"),
                         ["* THREAD (5 6)(1 (2 3)(4))(7)\r\n"])
        self.assertEqual(r.ok("THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         ["* THREAD (5 6)(1 (2)(3)(4))(7)\r\n"])
        self.assertEqual(r.ok("UID THREAD REFERENCES UTF-8 NOT 1"),
                         ["* THREAD (5 6)((2 3)(4))(7)\r\n"])
        self.assertEqual(r.ok("THREAD REFERENCES UTF-8 SUBJECT nomatch"),
                         ["* THREAD\r\n"])
        _, t = r.cmd("THREAD REFS2 UTF-8 ALL")
        self.assertIn(" BAD ", t)
        r.close()

    def test_imaplib_sort_thread_client(self):
        """Python imaplib's own sort() and thread() calls."""
        plain = [msg(b"b", b"x@b", b"1 Jan 2020 00:00:00 +0000"),
                 msg(b"Re: a", b"y@b", b"2 Jan 2020 00:00:00 +0000"),
                 msg(b"a", b"z@b", b"3 Jan 2020 00:00:00 +0000")]
        self.fill("cl@example.com", plain).close()
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login("cl@example.com", "pw")
        m.select("INBOX")
        self.assertEqual(m.sort("(SUBJECT)", "UTF-8", "ALL"),
                         ("OK", [b"2 3 1"]))
        self.assertEqual(m.uid("SORT", "(REVERSE DATE)", "UTF-8", "ALL"),
                         ("OK", [b"3 2 1"]))
        self.assertEqual(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"),
                         ("OK", [b"(1)(2 3)"]))
        self.assertEqual(m.thread("REFERENCES", "UTF-8", "ALL"),
                         ("OK", [b"(1)(3 2)"]))
        m.logout()

    def test_create_special_use_rfc6154(self):
        r = self.fill("cu@example.com", [])
        self.assertIn(" CREATE-SPECIAL-USE", r.ok("CAPABILITY")[0])
        r.ok("CREATE MySpecial (USE (\\Drafts \\Sent))", "t1")
        lines = r.ok('LIST "" MySpecial', "t2")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r'^\* LIST \((?=.*\\Drafts)(?=.*\\Sent)'
                         r'[^)]*\) "[./]" MySpecial\r\n$')
        lines = r.ok('LIST (SPECIAL-USE) "" *')
        self.assertTrue(any("MySpecial" in l for l in lines), lines)
        _, t = r.cmd("CREATE Foo (USE (\\Nonsense))", "t3")
        self.assertTrue(t.startswith("t3 NO [USEATTR] "), t)
        _, t = r.cmd("CREATE Foo (FOO (\\Drafts))")
        self.assertIn(" BAD ", t)
        lines = r.ok('LIST "" Foo')
        self.assertEqual(lines, [])
        r.close()

    def test_status_size_rfc8438(self):
        plain = [b"Subject: a\r\n\r\nx\r\n", b"Subject: bb\r\n\r\nyy\r\n"]
        r = self.fill("ss@example.com", plain)
        self.assertIn(" STATUS=SIZE", r.ok("CAPABILITY")[0])
        self.assertEqual(r.ok("STATUS INBOX (MESSAGES SIZE)"),
                         ["* STATUS INBOX (MESSAGES 2 SIZE %d)\r\n"
                          % sum(len(p) for p in plain)])
        r.close()

    def test_multiappend_rfc3502(self):
        r = self.fill("ma@example.com", [])
        self.assertIn(" MULTIAPPEND", r.ok("CAPABILITY")[0])
        m1 = b"Subject: one\r\n\r\nfirst\r\n"
        m2 = b"Subject: two\r\n\r\nsecond\r\n"
        r.s.sendall(b"A003 APPEND INBOX (\\Seen) {%d}\r\n" % len(m1))
        self.assertTrue(r.f.readline().startswith(b"+ "))
        r.s.sendall(m1 + b' (\\Flagged) " 1-Aug-2002 22:00:00 +0200" {%d}\r\n'
                    % len(m2))
        self.assertTrue(r.f.readline().startswith(b"+ "))
        r.s.sendall(m2 + b"\r\n")
        line = r.f.readline()
        self.assertRegex(line, rb"^A003 OK \[APPENDUID \d+ 1:2\] ")
        r.ok("EXAMINE INBOX")   # no \\Recent claimed
        self.assertEqual(r.ok("FETCH 1:2 (FLAGS INTERNALDATE)"), [
            '* 1 FETCH (FLAGS (\\Seen) INTERNALDATE "%s")\r\n'
            % r.ok("FETCH 1 INTERNALDATE")[0].split('"')[1],
            '* 2 FETCH (FLAGS (\\Flagged) '
            'INTERNALDATE "01-Aug-2002 20:00:00 +0000")\r\n'])
        # One bad message: none of them is appended (RFC 3502 6.3.11).
        r.s.sendall(b"A004 APPEND INBOX {%d+}\r\n%s (\\Bogus) {%d+}\r\n%s\r\n"
                    % (len(m1), m1, len(m2), m2))
        self.assertNotIn(b" OK ", r.f.readline())
        self.assertEqual(r.ok("STATUS INBOX (MESSAGES)"),
                         ["* STATUS INBOX (MESSAGES 2)\r\n"])
        r.close()

    def test_appendlimit_rfc7889(self):
        r = self.fill("th@example.com", [])
        caps = r.ok("CAPABILITY")[0]
        self.assertIn(" APPENDLIMIT=268435456", caps)
        r.s.sendall(b"A003 APPEND INBOX (\\Seen) {268435457}\r\n")
        self.assertTrue(r.f.readline().startswith(b"A003 NO [TOOBIG] "))
        r.ok("NOOP")
        r.close()


if __name__ == "__main__":
    main()
