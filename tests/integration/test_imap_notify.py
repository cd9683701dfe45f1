"""NOTIFY (RFC 5465) with a second session making the changes: the
selected mailbox's EXISTS / FETCH / EXPUNGE pushed between commands
(selected), expunges held for a command (selected-delayed), STATUS for
other mailboxes (personal, subtree, mailboxes, inboxes, the STATUS
option), LIST for created / renamed (OLDNAME) / deleted mailboxes and
subscriptions, unsolicited METADATA, pushes during IDLE, NOTIFY NONE, and
the command's refusals (BADEVENT, events that must come together)."""

import imaplib
import re
import socket
import time

from stratus_harness import StratusTestCase, main
from test_imap_ext import Raw, msg

USER = "notify@example.com"


class Session(Raw):
    """Raw with its own line buffer, so a read may time out (a file
    object from makefile() is unusable after a timeout)."""

    def __init__(self, port, user=None):
        self.buf = b""
        super().__init__(port, None)
        # the greeting went through makefile(): from here on recv only
        self.f = self
        if user:
            self.ok("LOGIN %s pw" % user)

    def readline(self, timeout=10):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout()
            self.s.settimeout(left)
            data = self.s.recv(65536)
            if not data:
                return b""
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def expect(self, pattern, timeout=10):
        """Reads unsolicited lines until one matches; returns it and the
        lines before it."""
        deadline = time.time() + timeout
        seen = []
        while True:
            try:
                line = self.readline(max(0.01, deadline - time.time()))
            except socket.timeout:
                raise AssertionError("no %r in %r" % (pattern, seen))
            line = line.decode().rstrip("\r\n")
            if re.match(pattern, line):
                return line, seen
            seen.append(line)

    def quiet(self, secs=0.5):
        """The unsolicited lines that arrive within secs."""
        out = []
        deadline = time.time() + secs
        try:
            while True:
                line = self.readline(max(0.01, deadline - time.time()))
                if not line:
                    break
                out.append(line.decode().rstrip("\r\n"))
        except socket.timeout:
            pass
        return out


class ImapNotifyTest(StratusTestCase):
    users = {USER: "pw", "n2@example.com": "pw", "n3@example.com": "pw",
             "n4@example.com": "pw"}

    def other(self, user=USER):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, "pw")
        return m

    def test_1_refusals(self):
        r = Session(self.stratus.ports["imap"], USER)
        lines, _ = r.ok("CAPABILITY")
        self.assertIn(" NOTIFY", lines[0])
        r.ok("NOTIFY NONE")
        for bad in ["NOTIFY SET (selected (MessageNew))",
                    "NOTIFY SET (selected (FlagChange))",
                    "NOTIFY SET (selected (MailboxName))",
                    "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
                    "NOTIFY SET (selected NONE) (selected-delayed NONE)",
                    "NOTIFY SET (everything (MailboxName))",
                    "NOTIFY SET", "NOTIFY FOO"]:
            _, tagged = r.cmd(bad)
            self.assertTrue(tagged.startswith("BAD"), (bad, tagged))
        _, tagged = r.cmd("NOTIFY SET (personal (AnnotationChange))")
        self.assertTrue(tagged.startswith("NO [BADEVENT (MessageNew "
                                          "MessageExpunge FlagChange "), tagged)
        # RFC 5465 section 6's example asks for BODY.PEEK[...] of new
        # messages: refused with a reason, the same without it works.
        _, tagged = r.cmd("NOTIFY SET STATUS (selected (MessageNew (uid "
                          "body.peek[header.fields (from to subject)]) "
                          "MessageExpunge)) (subtree Lists (MessageNew "
                          "MessageExpunge))")
        self.assertTrue(tagged.startswith("NO MessageNew fetch"), tagged)
        r.ok("NOTIFY SET STATUS (selected (MessageNew (uid) MessageExpunge))"
             " (subtree Lists (MessageNew MessageExpunge))")
        r.ok("NOTIFY NONE")
        r.close()

    def test_2_selected(self):
        u = "n2@example.com"
        a = Session(self.stratus.ports["imap"], u)
        a.ok("SELECT INBOX")
        a.ok("NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge "
             "FlagChange)) (personal NONE)")
        b = self.other(u)
        b.append("INBOX", None, None, msg(1))
        line, _ = a.expect(r"\* 1 EXISTS$")
        line, _ = a.expect(r"\* 1 FETCH ")
        self.assertEqual(line, "* 1 FETCH (UID 1 FLAGS (\\Recent))")
        b.append("INBOX", None, None, msg(2))
        a.expect(r"\* 2 EXISTS$")
        a.expect(r"\* 2 FETCH \(UID 2 ")
        b.select("INBOX")
        b.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
        line, _ = a.expect(r"\* 1 FETCH ")
        self.assertIn("\\Flagged", line)
        b.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
        b.expunge()
        a.expect(r"\* 1 EXPUNGE$")
        # the view follows: message 1 is now UID 2
        lines, _ = a.ok("FETCH 1 (UID)")
        self.assertEqual(lines, ["* 1 FETCH (UID 2)"])
        # its own APPEND: \\Recent stays this session's (the parked
        # Wait that claimed it answered during the command)
        m = msg(9)
        lines, _ = a.ok("APPEND INBOX {%d+}\r\n%s" % (len(m), m.decode()))
        a.quiet(0.5)
        lines, _ = a.ok("FETCH 2 (UID FLAGS)")
        self.assertEqual(lines, ["* 2 FETCH (UID 3 FLAGS (\\Recent))"])
        # NOTIFY NONE: nothing more between commands
        a.ok("NOTIFY NONE")
        b.append("INBOX", None, None, msg(3))
        time.sleep(0.5)
        self.assertEqual(a.quiet(), [])
        lines, _ = a.ok("NOOP")
        self.assertIn("* 3 EXISTS", lines)
        b.logout()
        a.close()

    def test_3_selected_delayed(self):
        u = "n3@example.com"
        b = self.other(u)
        b.append("INBOX", None, None, msg(1))
        a = Session(self.stratus.ports["imap"], u)
        a.ok("SELECT INBOX")
        a.ok("NOTIFY SET (selected-delayed (MessageNew MessageExpunge))")
        b.select("INBOX")
        b.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
        b.expunge()
        b.append("INBOX", None, None, msg(2))
        # the expunge waits for a command; sequence numbers stay put
        got = a.quiet(1.0)
        self.assertNotIn("* 1 EXPUNGE", got)
        lines, _ = a.ok("NOOP")
        self.assertIn("* 1 EXPUNGE", got + lines)
        lines, _ = a.ok("FETCH 1:* (UID)")
        self.assertEqual(lines, ["* 1 FETCH (UID 2)"])
        b.logout()
        a.close()

    def test_4_other_mailboxes(self):
        a = Session(self.stratus.ports["imap"], USER)
        a.ok("CREATE work")
        a.ok("CREATE Lists")
        a.ok("CREATE Lists/ietf")
        a.ok("SELECT work")
        lines, _ = a.ok("NOTIFY SET STATUS (selected (MessageNew "
                        "MessageExpunge)) (inboxes (MessageNew MessageExpunge))"
                        " (subtree Lists (MessageNew MessageExpunge "
                        "FlagChange)) (personal (MailboxName "
                        "SubscriptionChange))")
        # STATUS for the watched mailboxes, not the selected one
        names = sorted(re.match(r"\* STATUS (\S+) ", l).group(1)
                       for l in lines if l.startswith("* STATUS"))
        self.assertEqual(names, ["INBOX", "Lists", "Lists/ietf"])
        b = self.other()
        b.append("Lists/ietf", None, None, msg(1))
        line, _ = a.expect(r"\* STATUS Lists/ietf ")
        self.assertRegex(line, r"^\* STATUS Lists/ietf \(MESSAGES 1 "
                         r"UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)$")
        b.append("INBOX", None, None, msg(2))
        line, _ = a.expect(r"\* STATUS INBOX ")
        self.assertIn("UIDNEXT", line)
        b.select("Lists/ietf")
        b.uid("STORE", "1", "+FLAGS", "(\\Seen)")
        line, _ = a.expect(r"\* STATUS Lists/ietf ")
        self.assertIn("UNSEEN 0", line)
        # mailbox names (personal MailboxName)
        b.create("fresh")
        a.expect(r'\* LIST \(\) "/" fresh$')
        b.rename("fresh", "renamed")
        a.expect(r'\* LIST \(\) "/" renamed \("OLDNAME" \(fresh\)\)$')
        b.subscribe("renamed")
        a.expect(r'\* LIST \(\\Subscribed\) "/" renamed$')
        b.unsubscribe("renamed")
        a.expect(r'\* LIST \(\) "/" renamed$')
        b.delete("renamed")
        a.expect(r'\* LIST \(\\NonExistent\) "/" renamed$')
        # nothing for a mailbox no group names (MessageNew off for work2)
        b.create("work2")
        a.expect(r'\* LIST \(\) "/" work2$')
        b.append("work2", None, None, msg(3))
        self.assertEqual([l for l in a.quiet(1.0) if "STATUS" in l], [])
        # held while a command runs, told when it ends
        lines, _ = a.ok("NOOP")
        # during IDLE too
        a.s.sendall(b"i1 IDLE\r\n")
        a.expect(r"\+ ")
        b.append("Lists", None, None, msg(4))
        a.expect(r"\* STATUS Lists \(MESSAGES 1 ")
        a.s.sendall(b"DONE\r\n")
        a.expect(r"i1 OK")
        b.logout()
        a.close()

    def test_5_metadata(self):
        u = "n4@example.com"
        a = Session(self.stratus.ports["imap"], u)
        a.ok("NOTIFY SET (personal (MailboxMetadataChange "
             "ServerMetadataChange))")
        b = Session(self.stratus.ports["imap"], u)
        b.ok('SETMETADATA INBOX (/private/comment "look")')
        a.expect(r"\* METADATA INBOX /private/comment$")
        b.ok('SETMETADATA "" (/shared/comment "server" /private/x "y")')
        a.expect(r'\* METADATA "" /shared/comment /private/x$')
        # a session that did not ask hears nothing
        self.assertEqual(b.quiet(0.3), [])
        a.close()
        b.close()


if __name__ == "__main__":
    main()
