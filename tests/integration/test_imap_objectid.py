"""OBJECTID (RFC 8474): the RFC's examples (section 4 CREATE/RENAME/STATUS,
4.2 SELECT, 5 FETCH EMAILID/THREADID across COPY, 6 SEARCH), with the
ids this server gives in place of the RFC's. MAILBOXID survives RENAME;
EMAILID survives COPY and MOVE (the copies keep the message GUID);
THREADID (5.2) is shared by a conversation's messages, however they
arrive (APPEND or LMTP, parent before or after its replies), and kept by
COPY and MOVE. Python imaplib fetches EMAILID too."""

import imaplib
import re
import smtplib

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
        tids = []
        for l in lines:
            m = re.match(r"\* (\d) FETCH \(UID (\d) EMAILID \((M%s)\) "
                         r"THREADID \((T%s)\)\)$" % (OBJECTID, OBJECTID), l)
            self.assertTrue(m, l)
            ids.append(m.group(3))
            tids.append(m.group(4))
        self.assertNotEqual(ids[0], ids[1])
        self.assertNotEqual(tids[0], tids[1])
        r.ok("copy 1 dest")
        r.ok("select dest")
        lines, _ = r.ok("uid fetch 1 (emailid threadid)")
        self.assertEqual(lines, ["* 1 FETCH (UID 1 EMAILID (%s) THREADID (%s))"
                                 % (ids[0], tids[0])])
        r.ok("move 1 moved")
        r.ok("select moved")
        lines, _ = r.ok("fetch 1 (emailid threadid)")
        self.assertEqual(lines, ["* 1 FETCH (EMAILID (%s) THREADID (%s))"
                                 % (ids[0], tids[0])])
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
        lines, _ = r.ok("search threadid %s" % tids[1])
        self.assertEqual(lines, ["* SEARCH 2"])
        lines, _ = r.ok("search threadid %s" % ids[1])
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

    def test_threadid_conversation(self):
        """RFC 8474 5.2 / 6 shape: FETCH (EMAILID THREADID) gives each
        message its thread, SEARCH THREADID finds the whole thread. A
        reply delivered over LMTP before its parent is APPENDed gets the
        same id; In-Reply-To alone counts; a message with no msg-id is a
        thread of its own (T + its EMAILID's GUID)."""
        r = Raw(self.stratus.ports["imap"], USER)
        r.ok("create conv")
        def mail(mid, extra=b""):
            return (b"From: a@example.org\r\nSubject: talk\r\n" + extra +
                    (b"Message-ID: <%s>\r\n" % mid if mid else b"") +
                    b"\r\nbody\r\n")
        # the reply of a reply, over LMTP first (its parents are unknown)
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.sendmail("a@example.org", [USER],
                       mail(b"c@x", b"In-Reply-To: <b@x>\r\n"
                            b"References: <a@x>\r\n <b@x>\r\n"))
        imap = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        imap.login(USER, "pw")
        for m in (mail(b"a@x"), mail(b"b@x", b"References: <a@x>\r\n"),
                  mail(b"other@x"), mail(None),
                  mail(b"d@x", b"In-Reply-To: <a@x>\r\n")):
            imap.append("conv", None, None, m)
        imap.logout()
        # the LMTP one went to INBOX: move it over, it keeps its id
        r.ok("select inbox")
        lines, _ = r.ok("uid search header message-id c@x")
        uid = lines[0].split()[-1]
        r.ok("uid move %s conv" % uid)
        r.ok("select conv")
        lines, _ = r.ok("fetch 1:* (emailid threadid)")
        got = {}
        for l in lines:
            m = re.match(r"\* (\d) FETCH \(EMAILID \((M%s)\) THREADID \((T%s)\)\)$"
                         % (OBJECTID, OBJECTID), l)
            self.assertTrue(m, l)
            got[int(m.group(1))] = (m.group(2), m.group(3))
        self.assertEqual(len(got), 6)
        # 1 a, 2 b, 3 other, 4 no msg-id, 5 d, 6 c (moved in last)
        t = got[1][1]
        self.assertEqual([got[i][1] == t for i in range(1, 7)],
                         [True, True, False, False, True, True])
        self.assertNotEqual(got[3][1], got[4][1])
        self.assertEqual(got[4][1], "T" + got[4][0][1:])
        lines, _ = r.ok("search threadid %s" % t)
        self.assertEqual(lines, ["* SEARCH 1 2 5 6"])
        lines, _ = r.ok("uid search not threadid %s" % t)
        self.assertEqual(lines, ["* SEARCH 3 4"])
        lines, _ = r.ok("search threadid %s" % got[4][1])
        self.assertEqual(lines, ["* SEARCH 4"])
        # decided against the bodies too (BODY makes the index unsure)
        lines, _ = r.ok('search or threadid %s body "body"' % t)
        self.assertEqual(lines, ["* SEARCH 1 2 3 4 5 6"])
        lines, _ = r.ok('search or threadid %s body "nomatch"' % t)
        self.assertEqual(lines, ["* SEARCH 1 2 5 6"])
        lines, _ = r.ok('search threadid %s body "body"' % got[3][1])
        self.assertEqual(lines, ["* SEARCH 3"])
        r.close()


if __name__ == "__main__":
    main()
