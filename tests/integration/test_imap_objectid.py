"""OBJECTID (RFC 8474): the RFC's examples (section 4 CREATE/RENAME/STATUS,
4.2 SELECT, 5 FETCH EMAILID across COPY, 6 SEARCH), with the ids this
server gives in place of the RFC's. MAILBOXID survives RENAME; EMAILID
survives COPY and MOVE (the copies keep the message GUID); THREADID is
NIL (no thread ids are kept, RFC 8474 5.2). Python imaplib fetches
EMAILID too."""

import imaplib
import re

from stratus_harness import StratusTestCase, main
from test_imap_ext import Raw, msg

USER = "oid@example.com"
OBJECTID = r"[A-Za-z0-9_-]{1,255}"


class ImapObjectIdTest(StratusTestCase):
    users = {USER: "pw"}

    def test_mailboxid(self):
        r = Raw(self.stratus.ports["imap"], USER)
        lines, _ = r.ok("CAPABILITY")
        self.assertIn(" OBJECTID", lines[0])
        _, tagged = r.ok("create foo")
        m = re.match(r"OK \[MAILBOXID \((F%s)\)\] " % OBJECTID, tagged)
        self.assertTrue(m, tagged)
        foo = m.group(1)
        _, tagged = r.ok("create bar")
        bar = re.match(r"OK \[MAILBOXID \((F%s)\)\] " % OBJECTID, tagged).group(1)
        self.assertNotEqual(foo, bar)
        _, tagged = r.cmd("create foo")
        self.assertTrue(tagged.startswith("NO"), tagged)
        r.ok("rename foo renamed")
        lines, _ = r.ok("status renamed (mailboxid)")
        self.assertEqual(lines, ["* STATUS renamed (MAILBOXID (%s))" % foo])
        lines, _ = r.ok("status bar (MESSAGES MAILBOXID UIDNEXT)")
        self.assertEqual(lines, ["* STATUS bar (MESSAGES 0 MAILBOXID (%s) UIDNEXT 1)" % bar])
        lines, _ = r.ok('select "renamed"')
        self.assertIn("* OK [MAILBOXID (%s)] Ok" % foo, lines)
        r.ok("unselect")
        # LIST-STATUS carries it too.
        lines, _ = r.ok('LIST "" "bar" RETURN (STATUS (MAILBOXID))')
        self.assertIn("* STATUS bar (MAILBOXID (%s))" % bar, lines)
        r.close()

    def test_emailid_across_copy_and_move(self):
        r = Raw(self.stratus.ports["imap"], USER)
        r.ok("create dest")
        r.ok("create moved")
        imap = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        imap.login(USER, "pw")
        imap.append("INBOX", None, None, msg(1))
        imap.append("INBOX", None, None, msg(2))
        r.ok("select inbox")
        lines, _ = r.ok("uid fetch 1:2 (emailid threadid)")
        ids = []
        for l in lines:
            m = re.match(r"\* (\d) FETCH \(UID (\d) EMAILID \((M%s)\) THREADID NIL\)$"
                         % OBJECTID, l)
            self.assertTrue(m, l)
            ids.append(m.group(3))
        self.assertNotEqual(ids[0], ids[1])
        r.ok("copy 1 dest")
        r.ok("select dest")
        lines, _ = r.ok("uid fetch 1 (emailid threadid)")
        self.assertEqual(lines, ["* 1 FETCH (UID 1 EMAILID (%s) THREADID NIL)" % ids[0]])
        r.ok("move 1 moved")
        r.ok("select moved")
        lines, _ = r.ok("fetch 1 (emailid)")
        self.assertEqual(lines, ["* 1 FETCH (EMAILID (%s))" % ids[0]])
        # SEARCH EMAILID / THREADID (RFC 8474 6).
        r.ok("select inbox")
        lines, _ = r.ok("search emailid %s" % ids[1])
        self.assertEqual(lines, ["* SEARCH 2"])
        lines, _ = r.ok("uid search or emailid %s emailid %s" % (ids[0], ids[1]))
        self.assertEqual(lines, ["* SEARCH 1 2"])
        lines, _ = r.ok("search emailid Mnosuchid")
        self.assertEqual(lines, ["* SEARCH"])
        lines, _ = r.ok("search threadid T1234")
        self.assertEqual(lines, ["* SEARCH"])
        lines, _ = r.ok("search not emailid %s body \"body\"" % ids[0])
        self.assertEqual(lines, ["* SEARCH 2"])
        # The same message appended twice is two emails.
        imap.append("INBOX", None, None, msg(1))
        imap.select("INBOX")
        typ, data = imap.uid("FETCH", "1:*", "(EMAILID)")
        self.assertEqual(typ, "OK")
        got = [re.search(rb"EMAILID \(([^)]*)\)", d).group(1).decode() for d in data]
        self.assertEqual(got[:2], ids)
        self.assertEqual(len(set(got)), 3)
        imap.logout()
        r.close()


if __name__ == "__main__":
    main()
