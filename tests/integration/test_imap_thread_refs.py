"""THREAD=REFS (draft-ietf-morg-inthread, as Dovecot implements it)
against the real service set: REFERENCES threading without the step 5
base-subject grouping, threads ordered by their newest message, and
REFERENCES on the same mailbox for contrast; then Python imaplib."""

import imaplib

from stratus_harness import StratusTestCase, main
from test_imap_ext import Raw

USER = "refs@example.com"


def msg(mid, subject, day, refs=None):
    head = ("From: a@example.org\r\nSubject: %s\r\nMessage-ID: <%s@x>\r\n"
            "Date: %02d Jan 2026 10:00:00 +0000\r\n" % (subject, mid, day))
    if refs:
        head += "References: <%s@x>\r\nIn-Reply-To: <%s@x>\r\n" % (refs, refs)
    return (head + "\r\nbody\r\n").encode()


class ImapThreadRefsTest(StratusTestCase):
    users = {USER: "pw"}

    def test_refs(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pw")
        m.create("t")
        for body in (msg("a", "Hello", 1), msg("b", "Other", 2),
                     msg("c", "Re: Hello", 3, refs="a"),
                     msg("d", "Hello", 4),
                     msg("e", "Re: Other", 5, refs="b")):
            m.append("t", None, None, body)
        r = Raw(self.stratus.ports["imap"], USER)
        lines, _ = r.ok("CAPABILITY")
        self.assertIn(" THREAD=REFS", lines[0])
        r.ok("SELECT t")
        # REFERENCES: 1 and 4 share a subject, so both go under a dummy
        # (RFC 5256 step 5B); threads by their first date
        lines, _ = r.ok("THREAD REFERENCES UTF-8 ALL")
        self.assertEqual(lines, ["* THREAD ((1 3)(4))(2 5)"])
        # REFS: no subject grouping; the thread with the newest message
        # (5) comes last
        lines, tagged = r.ok("THREAD REFS UTF-8 ALL")
        self.assertEqual(lines, ["* THREAD (1 3)(4)(2 5)"])
        lines, _ = r.ok("UID THREAD REFS UTF-8 ALL")
        self.assertEqual(lines, ["* THREAD (1 3)(4)(2 5)"])
        lines, _ = r.ok("THREAD REFS US-ASCII NOT SUBJECT Other")
        self.assertEqual(lines, ["* THREAD (1 3)(4)"])
        _, tagged = r.cmd("THREAD REFSX UTF-8 ALL")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        r.close()
        m.select("t")
        typ, data = m.thread("REFS", "UTF-8", "ALL")
        self.assertEqual((typ, data), ("OK", [b"(1 3)(4)(2 5)"]))
        m.logout()


if __name__ == "__main__":
    main()
