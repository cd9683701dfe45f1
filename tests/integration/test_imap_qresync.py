"""QRESYNC (RFC 7162): SELECT (QRESYNC (uidvalidity modseq known-uids
seq-match)) with the RFC's parameter forms, VANISHED (EARLIER) and the
FETCHes of what changed, UID FETCH (CHANGEDSINCE n VANISHED), malformed
sequence match data refused, and Python imaplib. Past svc-index's kept
expunge history (100,000 per mailbox) the answer is the known UID range
not in the mailbox: that path is tested by test-index-rpc
(test_wait_partial_history) and test-imap-qresync; overrunning the
history here took over a minute on this machine."""

import imaplib
import re

from stratus_harness import StratusTestCase, main
from test_imap_ext import Raw, msg

USER = "hist@example.com"


class ImapQresyncHistoryTest(StratusTestCase):
    users = {USER: "pw"}

    def test_select_qresync_parameters(self):
        port = self.stratus.ports["imap"]
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, "pw")
        m.create("Hist")
        for i in range(1, 6):
            m.append("Hist", None, None, msg(i))
        r = Raw(port, USER)
        r.ok("ENABLE QRESYNC")
        lines, _ = r.ok("SELECT Hist")
        text = " ".join(lines)
        uv = int(re.search(r"UIDVALIDITY (\d+)", text).group(1))
        high = int(re.search(r"HIGHESTMODSEQ (\d+)", text).group(1))
        r.ok("UNSELECT")

        # Known to the client's cache: UIDs 1:5. Then uid 2 goes, uid 4
        # is flagged.
        m.select("Hist")
        m.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.uid("STORE", "4", "+FLAGS", "(\\Flagged)")
        m.logout()

        # Known UIDs given: exactly the expunged one of them.
        lines, tagged = r.ok("SELECT Hist (QRESYNC (%d %d 1:5))" % (uv, high))
        self.assertIn("* VANISHED (EARLIER) 2", lines)
        fetches = [l for l in lines if " FETCH " in l]
        self.assertEqual(len(fetches), 1, lines)
        self.assertRegex(fetches[0],
                         r"^\* 3 FETCH \(UID 4 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$")
        self.assertIn("* 4 EXISTS", lines)
        self.assertIn("[READ-WRITE]", tagged)
        r.ok("UNSELECT")
        # No known UIDs: the expunge history names 2.
        lines, _ = r.ok("SELECT Hist (QRESYNC (%d %d))" % (uv, high))
        self.assertIn("* VANISHED (EARLIER) 2", lines)
        r.ok("UNSELECT")
        # Sequence match data (RFC 7162 3.2.5.2's form) is accepted; with
        # the history complete it changes nothing.
        lines, _ = r.ok("SELECT Hist (QRESYNC (%d %d 1:5 (1:3 1,3,4)))"
                        % (uv, high))
        self.assertIn("* VANISHED (EARLIER) 2", lines)
        self.assertTrue(any("UID 4 " in l for l in lines), lines)
        # Malformed match data is BAD.
        r.ok("UNSELECT")
        _, tagged = r.cmd("SELECT Hist (QRESYNC (%d %d 1:5 (1:2 x)))" % (uv, high))
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = r.cmd("SELECT Hist (QRESYNC (%d %d 1:5 (1:2)))" % (uv, high))
        self.assertTrue(tagged.startswith("BAD"), tagged)

        # UID FETCH (CHANGEDSINCE VANISHED) in the same situation.
        r.ok("SELECT Hist")
        lines, _ = r.ok("UID FETCH 1:5 (FLAGS) (CHANGEDSINCE %d VANISHED)" % high)
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 2")
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("UID 4 ", lines[1])
        r.close()

        # Python imaplib: ENABLE, then SELECT with the QRESYNC parameter.
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, "pw")
        m.enable("QRESYNC")
        typ, _ = m._simple_command("SELECT", "Hist",
                                   "(QRESYNC (%d %d 1:5))" % (uv, high))
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.get("VANISHED"),
                         [b"(EARLIER) 2"])
        m.logout()


if __name__ == "__main__":
    main()
