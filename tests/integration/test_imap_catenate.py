"""CATENATE (RFC 4469) against the real service set: the section 5
example's shape (a draft rebuilt from the HEADER, 1.MIME and 1 sections
of a stored message, another whole message and TEXT literals, with the
same keywords), checked byte for byte against what FETCH gives for those
sections; a relative URL in the selected mailbox, MULTIAPPEND with
CATENATE, and the refusals: [BADURL] for a wrong UIDVALIDITY, a missing
UID or mailbox and a URL form not supported, BAD for a malformed part."""

import re

from stratus_harness import StratusTestCase, main
from test_imap_metadata import Raw

USER = "cat@example.com"
MSG1 = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: draft\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        b"--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"The text of the draft.\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b1--\r\n")
MSG2 = b"From: c@example.org\r\nSubject: attached\r\n\r\nforwarded body\r\n"
BOUNDARY = b"--------------030308070208000400050907"


class ImapCatenateTest(StratusTestCase):
    users = {USER: "pw"}

    def append(self, r, mailbox, body):
        r.s.sendall(b"ap APPEND %s {%d+}\r\n" % (mailbox, len(body)) + body + b"\r\n")
        lines, t = r.collect("ap")
        self.assertIn(b"OK", t)
        return int(re.search(rb"APPENDUID \d+ (\d+)", t).group(1))

    def section(self, r, uid, sect):
        lines, _ = r.cmd("UID FETCH %d (BODY.PEEK[%s])" % (uid, sect))
        body = lines[0]
        start = body.index(b"}\r\n") + 3
        n = int(body[body.index(b"{") + 1:start - 3])
        return body[start:start + n]

    def test_rfc_example_shape(self):
        r = Raw(self.stratus.ports["imap"], USER)
        lines, _ = r.cmd("CAPABILITY")
        self.assertIn(b" CATENATE", lines[0])
        r.cmd("CREATE Drafts")
        uid1 = self.append(r, b"Drafts", MSG1)
        uid2 = self.append(r, b"Drafts", MSG2)
        lines, _ = r.cmd("STATUS Drafts (UIDVALIDITY)")
        uv = int(re.search(rb"UIDVALIDITY (\d+)", lines[0]).group(1))
        r.cmd("SELECT Drafts")
        url = '"/Drafts;UIDVALIDITY=%d/;UID=%d' % (uv, uid1)
        text1 = b"\r\n" + BOUNDARY + b"\r\n"
        text2 = b"\r\n" + BOUNDARY + b"\r\n"
        text3 = b"\r\n" + BOUNDARY + b"--\r\n"
        # RFC 4469 section 5's command, literals as LITERAL+
        r.s.sendall(b"A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "
                    + url.encode() + b'/;section=HEADER" TEXT {%d+}\r\n' % len(text1) + text1
                    + b" URL " + url.encode() + b'/;section=1.MIME"'
                    + b" URL " + url.encode() + b'/;section=1" TEXT {%d+}\r\n' % len(text2) + text2
                    + b' URL "/Drafts;UIDVALIDITY=%d/;UID=%d" TEXT {%d+}\r\n'
                    % (uv, uid2, len(text3)) + text3 + b")\r\n")
        lines, t = r.collect("A003")
        self.assertTrue(t.startswith(b"A003 OK"), t)
        new = int(re.search(rb"APPENDUID \d+ (\d+)", t).group(1))
        expect = (self.section(r, uid1, "HEADER") + text1 + self.section(r, uid1, "1.MIME")
                  + self.section(r, uid1, "1") + text2 + MSG2 + text3)
        self.assertEqual(self.section(r, new, ""), expect)
        lines, _ = r.cmd("UID FETCH %d (FLAGS)" % new)
        self.assertIn(b"\\Draft", lines[-1])
        self.assertIn(b"$MDNSent", lines[-1])
        # a relative URL in the selected mailbox, and MULTIAPPEND
        r.s.sendall(b'b APPEND Drafts CATENATE (URL ";UID=%d/;SECTION=TEXT")'
                    b' CATENATE (TEXT {3+}\r\nabc URL ";uid=%d")\r\n' % (uid2, uid2))
        lines, t = r.collect("b")
        self.assertTrue(t.startswith(b"b OK"), t)
        uids = re.search(rb"APPENDUID \d+ (\d+):(\d+)", t)
        self.assertEqual(self.section(r, int(uids.group(1)), ""), b"forwarded body\r\n")
        self.assertEqual(self.section(r, int(uids.group(2)), ""), b"abc" + MSG2)
        # refusals
        for bad, why in (('"/Drafts;UIDVALIDITY=%d/;UID=%d"' % (uv + 1, uid1), b"UIDVALIDITY"),
                         ('"/Drafts/;UID=999"', b"No such message"),
                         ('"/NoSuch/;UID=1"', b"No such mailbox"),
                         ('"imap://host/Drafts/;UID=1"', b"Unsupported"),
                         ('"/Drafts/;UID=1/;PARTIAL=0.10"', b"Unsupported")):
            _, t = r.cmd("APPEND Drafts CATENATE (URL %s)" % bad, tag="n")
            self.assertTrue(t.startswith(b"n NO [BADURL "), (bad, t))
            self.assertIn(why, t)
        _, t = r.cmd('APPEND Drafts CATENATE (TEXT "quoted is not a literal")', tag="q")
        self.assertTrue(t.startswith(b"q BAD"), t)
        _, t = r.cmd("APPEND Drafts CATENATE ()", tag="q")
        self.assertTrue(t.startswith(b"q BAD"), t)
        # nothing was appended by the refused commands
        lines, _ = r.cmd("STATUS Drafts (MESSAGES)")
        self.assertIn(b"MESSAGES 5", lines[0])
        r.close()


if __name__ == "__main__":
    main()
