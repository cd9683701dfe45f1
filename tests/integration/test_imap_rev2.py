"""IMAP4rev2 (RFC 9051) beside IMAP4rev1: advertised, and ENABLE IMAP4rev2
changes the session as the RFC says: no RECENT or [UNSEEN] in SELECT but
its LIST (6.3.2's example), no \\Recent flag, STATUS DELETED (6.3.11), SEARCH answers ESEARCH (6.4.4's examples, RETURN () and a
search with no match), mailbox names in UTF-8 both ways (the index keeps
modified UTF-7: a rev1 session sees the same mailbox as Entw&APw-rfe).
A rev1 session is unchanged. Python imaplib enables it too."""

import imaplib
import re
import socket

from stratus_harness import StratusTestCase, main

USER = "rev2@example.com"


def msg(n, subject, sender):
    return (b"From: %s\r\nSubject: %s\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
            b"Message-ID: <r%d@example.org>\r\n\r\nbody %d\r\n"
            % (sender.encode(), subject.encode(), n, n))


class Raw:
    """Raw session; lines are bytes so UTF-8 names stay exact; literals
    are read by their size."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.f.readline()

    def cmd(self, tag, text):
        self.s.sendall(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError(text)
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line = line[:m.start()] + b'"' + self.f.read(int(m.group(1))) + b'"' + \
                    self.f.readline()
            line = line.rstrip(b"\r\n")
            if line.startswith(tag + b" "):
                return lines, line[len(tag) + 1:]
            lines.append(line)


class ImapRev2Test(StratusTestCase):
    users = {USER: "pw"}

    def test_rev2(self):
        port = self.stratus.ports["imap"]
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, "pw")
        m.append("INBOX", "(\\Flagged)", None, msg(1, "one", "Jones <j@example.org>"))
        m.append("INBOX", "(\\Flagged)", None, msg(2, "two", "Smith <s@example.org>"))
        m.append("INBOX", "(\\Flagged)", None, msg(3, "three", "Brown <b@example.org>"))
        m.append("INBOX", None, None, msg(4, "four", "Green <g@example.org>"))
        m.logout()

        r = Raw(port)
        lines, _ = r.cmd(b"t0", b"CAPABILITY")
        self.assertRegex(lines[0], rb"^\* CAPABILITY IMAP4rev1 IMAP4rev2 ")
        r.cmd(b"t1", b"LOGIN %s pw" % USER.encode())
        lines, tagged = r.cmd(b"t2", b"ENABLE IMAP4rev2")
        self.assertEqual(lines, [b"* ENABLED IMAP4rev2"])
        self.assertTrue(tagged.startswith(b"OK"))
        lines, _ = r.cmd(b"t3", b"SELECT inbox")
        self.assertIn(b"* 4 EXISTS", lines)
        self.assertFalse(any(b"RECENT" in l or b"[UNSEEN" in l for l in lines), lines)
        # RFC 9051 6.3.2: the mailbox's LIST, INBOX as the server names it
        self.assertIn(b'* LIST () "/" INBOX', lines)
        _, tagged = r.cmd(b"t3a", b"CREATE Drafts (USE (\\Drafts))")
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        lines, _ = r.cmd(b"t3b", b"EXAMINE Drafts")
        self.assertIn(b'* LIST (\\Drafts) "/" Drafts', lines)
        self.assertIn(b"* OK [CLOSED] Previous mailbox closed.", lines)
        lines, _ = r.cmd(b"t3c", b"SELECT INBOX")
        self.assertIn(b'* LIST () "/" INBOX', lines)
        # RFC 9051 6.3.11: STATUS DELETED
        r.cmd(b"t3d", b"STORE 2 +FLAGS.SILENT (\\Deleted)")
        lines, _ = r.cmd(b"t3e", b"STATUS Drafts (MESSAGES DELETED)")
        self.assertEqual(lines, [b"* STATUS Drafts (MESSAGES 0 DELETED 0)"])
        r.cmd(b"t3f", b"UNSELECT")
        lines, _ = r.cmd(b"t3g", b"STATUS INBOX (DELETED SIZE)")
        self.assertRegex(lines[0], rb"^\* STATUS INBOX \(DELETED 1 SIZE \d+\)$")
        r.cmd(b"t3h", b"SELECT INBOX")
        r.cmd(b"t3i", b"STORE 2 -FLAGS.SILENT (\\Deleted)")
        lines, _ = r.cmd(b"t4", b"FETCH 1:4 (FLAGS)")
        self.assertFalse(any(b"\\Recent" in l for l in lines), lines)
        # RFC 9051 6.4.4
        lines, _ = r.cmd(b"A282", b'SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')
        self.assertEqual(lines, [b'* ESEARCH (TAG "A282") MIN 1 COUNT 2'])
        lines, _ = r.cmd(b"A283", b'SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')
        self.assertEqual(lines, [b'* ESEARCH (TAG "A283") ALL 1,3'])
        lines, _ = r.cmd(b"A284", b'SEARCH TEXT "string not in mailbox"')
        self.assertEqual(lines, [b'* ESEARCH (TAG "A284")'])
        lines, _ = r.cmd(b"A285", b"SEARCH FLAGGED")
        self.assertEqual(lines, [b'* ESEARCH (TAG "A285") ALL 1:3'])
        lines, _ = r.cmd(b"A286", b"UID SEARCH FLAGGED")
        self.assertEqual(lines, [b'* ESEARCH (TAG "A286") UID ALL 1:3'])
        # UTF-8 mailbox names.
        _, tagged = r.cmd(b"t5", b'CREATE "Entw\xc3\xbcrfe"')
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        _, tagged = r.cmd(b"t6", b'CREATE "R&D"')
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        lines, _ = r.cmd(b"t7", b'LIST "" "Entw*"')
        self.assertEqual(lines, [b'* LIST (\\HasNoChildren) "/" "Entw\xc3\xbcrfe"'])
        lines, _ = r.cmd(b"t8", b'STATUS "Entw\xc3\xbcrfe" (MESSAGES)')
        self.assertEqual(lines, [b'* STATUS "Entw\xc3\xbcrfe" (MESSAGES 0)'])
        lines, _ = r.cmd(b"t9", b'LIST "" "R*"')
        self.assertEqual(lines, [b'* LIST (\\HasNoChildren) "/" R&D'])
        _, tagged = r.cmd(b"t10", b'COPY 1 "Entw\xc3\xbcrfe"')
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        _, tagged = r.cmd(b"t11", b'CREATE "bad\xff"')
        self.assertTrue(tagged.startswith(b"NO"), tagged)

        # A rev1 session: modified UTF-7 names, RECENT, SEARCH.
        r1 = Raw(port)
        r1.cmd(b"u1", b"LOGIN %s pw" % USER.encode())
        lines, _ = r1.cmd(b"u2", b'LIST "" "*"')
        self.assertIn(b'* LIST (\\HasNoChildren) "/" Entw&APw-rfe', lines)
        self.assertIn(b'* LIST (\\HasNoChildren) "/" R&-D', lines)
        lines, _ = r1.cmd(b"u3", b"SELECT Entw&APw-rfe")
        self.assertIn(b"* 1 EXISTS", lines)
        self.assertFalse(any(l.startswith(b"* LIST") for l in lines), lines)
        self.assertTrue(any(re.match(rb"\* \d+ RECENT", l) for l in lines), lines)
        lines, _ = r1.cmd(b"u4", b"SEARCH ALL")
        self.assertEqual(lines, [b"* SEARCH 1"])

        # imaplib
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, "pw")
        self.assertIn("IMAP4REV2", m.capabilities)
        typ, data = m.enable("IMAP4rev2")
        self.assertEqual(typ, "OK")
        m.select("INBOX")
        self.assertNotIn("RECENT", m.untagged_responses)
        typ, data = m._simple_command("SEARCH", "FLAGGED")
        self.assertEqual(typ, "OK")
        esearch = m.untagged_responses.get("ESEARCH")[0]
        self.assertRegex(esearch, rb'^\(TAG "[A-Z0-9]+"\) ALL 1:3$')
        m.logout()


if __name__ == "__main__":
    main()
