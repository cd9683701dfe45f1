"""svc-imap extensions with imaplib: \\Recent between sessions, CONDSTORE
and QRESYNC (RFC 7162), LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC
5819), imap_client_workarounds, ID (RFC 2971) forwarding from
login_trusted_networks."""

import imaplib
import re
import socket
import unittest

from stratus_harness import StratusTestCase, main


def msg(n):
    return (b"From: sender%d@example.org\r\nSubject: message %d\r\n"
            b"Message-ID: <x%d@example.org>\r\n\r\nbody %d\r\n" % (n, n, n, n))


class Raw:
    """A raw IMAP session: cmd() returns the untagged lines and the tagged
    line of one command."""

    def __init__(self, port, user=None):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.n = 0
        self.f.readline()
        if user:
            self.ok("LOGIN %s pw" % user)

    def cmd(self, text):
        self.n += 1
        tag = "t%d" % self.n
        self.s.sendall(("%s %s\r\n" % (tag, text)).encode())
        lines = []
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            if not line:
                raise EOFError(text)
            if line.startswith(tag + " "):
                return lines, line[len(tag) + 1:]
            lines.append(line)

    def ok(self, text):
        lines, tagged = self.cmd(text)
        assert tagged.startswith("OK"), (text, lines, tagged)
        return lines, tagged

    def close(self):
        self.s.close()


class ImapExtCase(StratusTestCase):
    users = {"recent@example.com": "pw", "cs@example.com": "pw",
             "qr@example.com": "pw", "list@example.com": "pw",
             "id@example.com": "pw"}

    def login(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(user, "pw")
        return m

    def flags(self, m, uid=False):
        """{seq or uid: flags string} of FETCH 1:* FLAGS."""
        typ, data = (m.uid("FETCH", "1:*", "(FLAGS)") if uid
                     else m.fetch("1:*", "(FLAGS)"))
        self.assertEqual(typ, "OK", data)
        out = {}
        for d in data:
            if d is None:
                continue
            r = re.match(rb"(\d+) \((?:UID (\d+) )?FLAGS \(([^)]*)\)", d)
            if r:
                out[int(r.group(2) if uid else r.group(1))] = r.group(3).decode()
        return out


class ImapRecentTest(ImapExtCase):
    def test_recent_goes_to_the_first_selecting_session(self):
        u = "recent@example.com"
        m1, m2, m4 = self.login(u), self.login(u), self.login(u)
        m4.create("RBox")
        for i in (1, 2):
            self.assertEqual(m4.append("RBox", None, None, msg(i))[0], "OK")
        self.assertIn(b"RECENT 2", m4.status("RBox", "(RECENT)")[1][0])
        typ, _ = m1.select("RBox")
        self.assertEqual(m1.response("RECENT")[1], [b"2"])
        self.assertEqual(self.flags(m1), {1: "\\Recent", 2: "\\Recent"})
        self.assertEqual(m1.search(None, "RECENT")[1], [b"1 2"])
        self.assertEqual(m1.search(None, "NEW")[1], [b"1 2"])
        m1.store("1", "+FLAGS", "\\Seen")
        self.assertEqual(m1.search(None, "NEW")[1], [b"2"])
        # Another session: claimed already.
        m2.select("RBox")
        self.assertEqual(m2.response("RECENT")[1], [b"0"])
        self.assertEqual(self.flags(m2), {1: "\\Seen", 2: ""})
        self.assertEqual(m2.search(None, "RECENT")[1], [b""])
        self.assertEqual(m2.search(None, "OLD")[1], [b"1 2"])
        self.assertIn(b"RECENT 0", m4.status("RBox", "(RECENT)")[1][0])
        # New mail while both are selected: the first to look gets it.
        m4.append("RBox", None, None, msg(3))
        m2.noop()
        self.assertEqual(m2.response("RECENT")[1], [b"1"])
        self.assertEqual(self.flags(m2)[3], "\\Recent")
        m1.noop()
        self.assertEqual(m1.response("RECENT")[1], [b"2"])
        self.assertEqual(self.flags(m1)[3], "")
        self.assertEqual(m1.search(None, "RECENT")[1], [b"1 2"])
        # An expunged recent message leaves the count.
        m1.store("1", "+FLAGS", "\\Deleted")
        m1.expunge()
        self.assertEqual(m1.search(None, "RECENT")[1], [b"1"])
        m1.logout()
        m2.logout()
        # EXAMINE does not take \Recent away from a later SELECT.
        m4.append("RBox", None, None, msg(4))
        m3 = self.login(u)
        m3.select("RBox", readonly=True)
        self.assertEqual(m3.response("RECENT")[1], [b"0"])
        m4.append("RBox", None, None, msg(5))
        m3.noop()
        self.assertEqual(m3.search(None, "RECENT")[1], [b""])
        m3.logout()
        m5 = self.login(u)
        m5.select("RBox")
        self.assertEqual(m5.response("RECENT")[1], [b"2"])
        self.assertEqual(m5.search(None, "RECENT")[1], [b"3 4"])
        m5.logout()
        m4.logout()


class ImapCondstoreTest(ImapExtCase):
    def port(self):
        return self.stratus.ports["imap"]

    def test_condstore(self):
        u = "cs@example.com"
        m = self.login(u)
        m.create("CsBox")
        for i in (1, 2, 3):
            m.append("CsBox", None, None, msg(i))
        caps = m.capability()[1][0].split()
        self.assertIn(b"CONDSTORE", caps)
        self.assertIn(b"QRESYNC", caps)
        r = Raw(self.port(), u)
        lines, tagged = r.ok("SELECT CsBox (CONDSTORE)")
        hms = [int(x) for l in lines for x in re.findall(r"\[HIGHESTMODSEQ (\d+)\]", l)]
        self.assertEqual(len(hms), 1, lines)
        high = hms[0]
        st = m.status("CsBox", "(HIGHESTMODSEQ MESSAGES)")[1][0]
        self.assertIn(b"HIGHESTMODSEQ %d MESSAGES 3" % high, st)
        lines, _ = r.ok("FETCH 1:* (FLAGS)")
        mods = {}
        for l in lines:
            x = re.match(r"\* (\d+) FETCH \(FLAGS \([^)]*\) MODSEQ \((\d+)\)\)", l)
            self.assertIsNotNone(x, l)
            mods[int(x.group(1))] = int(x.group(2))
        self.assertEqual(sorted(mods), [1, 2, 3])
        # STORE UNCHANGEDSINCE: 2 passes, 1 was changed meanwhile.
        m.select("CsBox")
        m.store("1", "+FLAGS", "\\Flagged")
        lines, tagged = r.ok("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % mods[2])
        self.assertIn("[MODIFIED 1]", tagged)
        self.assertTrue(any(re.match(r"\* 2 FETCH \(FLAGS \(\\Seen( \\Recent)?\) MODSEQ \(\d+\)\)", l)
                            for l in lines), lines)
        lines, tagged = r.ok("UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)")
        self.assertIn("[MODIFIED 1:3]", tagged)
        # FETCH CHANGEDSINCE: only what changed after `high`.
        lines, _ = r.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % high)
        seqs = sorted(int(re.match(r"\* (\d+) FETCH", l).group(1))
                      for l in lines if " FETCH " in l)
        self.assertEqual(seqs, [1, 2], lines)
        # SEARCH MODSEQ with the highest modseq of the matches.
        lines, _ = r.ok("SEARCH MODSEQ %d" % (high + 1))
        x = re.match(r"\* SEARCH 1 2 \(MODSEQ (\d+)\)", lines[-1])
        self.assertIsNotNone(x, lines)
        lines, _ = r.ok('SEARCH MODSEQ "/flags/\\\\seen" all %d' % (high + 1))
        self.assertTrue(lines[-1].startswith("* SEARCH 1 2 (MODSEQ"), lines)
        lines, _ = r.ok("SEARCH MODSEQ 99999999")
        self.assertEqual(lines[-1], "* SEARCH")
        _, tagged = r.cmd("FETCH 1 (FLAGS) (CHANGEDSINCE x)")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = r.cmd("STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        # Another session's change comes with MODSEQ at NOOP.
        m.store("3", "+FLAGS", "\\Answered")
        lines, _ = r.ok("NOOP")
        self.assertTrue(any(re.match(r"\* 3 FETCH \(UID 3 FLAGS \(\\Answered( \\Recent)?\) MODSEQ \(\d+\)\)", l)
                            for l in lines), lines)
        r.close()
        m.logout()

    def test_enable_and_enabling_command(self):
        u = "cs@example.com"
        m = self.login(u)
        m.create("EnBox")
        m.append("EnBox", None, None, msg(1))
        r = Raw(self.port(), u)
        lines, _ = r.ok("ENABLE CONDSTORE X-UNKNOWN")
        self.assertEqual(lines, ["* ENABLED CONDSTORE"])
        lines, _ = r.ok("ENABLE CONDSTORE")
        self.assertEqual(lines, ["* ENABLED"])
        r.close()
        # FETCH MODSEQ while selected enables it: [HIGHESTMODSEQ] first.
        r = Raw(self.port(), u)
        r.ok("SELECT EnBox")
        lines, _ = r.ok("FETCH 1 (FLAGS)")
        self.assertNotIn("MODSEQ", lines[0])
        lines, _ = r.ok("FETCH 1 (MODSEQ)")
        self.assertTrue(lines[0].startswith("* OK [HIGHESTMODSEQ "), lines)
        lines, _ = r.ok("FETCH 1 (FLAGS)")
        self.assertIn("MODSEQ", lines[0])
        _, tagged = r.cmd("SELECT EnBox (QRESYNC (1 1))")
        self.assertTrue(tagged.startswith("BAD"), tagged)   # not enabled
        r.close()
        m.logout()

    def test_qresync(self):
        u = "qr@example.com"
        m = self.login(u)
        m.create("QBox")
        for i in range(1, 7):
            m.append("QBox", None, None, msg(i))
        r = Raw(self.port(), u)
        lines, _ = r.ok("ENABLE QRESYNC")
        self.assertEqual(lines, ["* ENABLED QRESYNC"])
        lines, _ = r.ok("SELECT QBox")
        uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", " ".join(lines)).group(1))
        high = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(lines)).group(1))
        r.ok("UNSELECT")
        # Meanwhile: 2 and 5 expunged, 3 flagged, 7 appended.
        m.select("QBox")
        m.store("2,5", "+FLAGS", "\\Deleted")
        m.expunge()
        m.store("2", "+FLAGS", "\\Flagged")    # uid 3 is now seq 2
        m.append("QBox", None, None, msg(7))
        lines, tagged = r.ok("SELECT QBox (QRESYNC (%d %d 1:6))" % (uidvalidity, high))
        self.assertIn("* VANISHED (EARLIER) 2,5", lines)
        fetches = [l for l in lines if " FETCH " in l]
        self.assertTrue(any(re.match(r"\* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ", l)
                            for l in fetches), lines)
        self.assertTrue(any("UID 7 " in l for l in fetches), lines)
        self.assertFalse(any("UID 1 " in l or "UID 4 " in l for l in fetches), lines)
        self.assertIn("[READ-WRITE]", tagged)
        # Known UIDs narrow VANISHED.
        r.ok("UNSELECT")
        lines, _ = r.ok("SELECT QBox (QRESYNC (%d %d 1:4))" % (uidvalidity, high))
        self.assertIn("* VANISHED (EARLIER) 2", lines)
        # A wrong UIDVALIDITY: a plain SELECT.
        r.ok("UNSELECT")
        lines, _ = r.ok("SELECT QBox (QRESYNC (%d %d))" % (uidvalidity + 1, high))
        self.assertFalse(any("VANISHED" in l or "FETCH" in l for l in lines), lines)
        # Expunges now come as VANISHED, not EXPUNGE.
        m.store("1", "+FLAGS", "\\Deleted")
        m.expunge()
        lines, _ = r.ok("NOOP")
        self.assertIn("* VANISHED 1", lines)
        self.assertFalse(any("EXPUNGE" in l for l in lines), lines)
        lines, _ = r.ok("STORE 1 +FLAGS (\\Deleted)")
        lines, _ = r.ok("EXPUNGE")
        self.assertIn("* VANISHED 3", lines)
        # UID FETCH CHANGEDSINCE VANISHED.
        lines, _ = r.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % high)
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 1:3,5")
        self.assertTrue(all("MODSEQ" in l for l in lines[1:]), lines)
        _, tagged = r.cmd("FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertTrue(tagged.startswith("BAD"), tagged)   # UID FETCH only
        r.close()
        m.logout()


class ImapListExtendedTest(ImapExtCase):
    extra_config = """
namespace inbox {
  mailbox Drafts {
    special_use = \\Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
"""
    def test_list_extended_and_status(self):
        u = "list@example.com"
        m = self.login(u)
        caps = m.capability()[1][0].split()
        self.assertIn(b"LIST-EXTENDED", caps)
        self.assertIn(b"LIST-STATUS", caps)
        for box in ("Fruit", "Fruit/Apple", "Fruit/Banana", "Tofu", "Veg/Bean"):
            self.assertEqual(m.create(box)[0], "OK")
        m.append("Tofu", None, None, msg(1))
        m.subscribe("Fruit/Banana")
        m.subscribe("Tofu")
        m.subscribe("Gone")           # subscribed, does not exist
        r = Raw(self.stratus.ports["imap"], u)
        lines, _ = r.ok('LIST (SUBSCRIBED) "" "*"')
        self.assertIn('* LIST (\\Subscribed \\HasNoChildren) "/" Fruit/Banana', lines)
        self.assertIn('* LIST (\\Subscribed \\HasNoChildren) "/" Tofu', lines)
        self.assertIn('* LIST (\\NonExistent \\Subscribed) "/" Gone', lines)
        self.assertFalse(any(l.endswith(" Fruit") for l in lines), lines)
        # RECURSIVEMATCH: Fruit is not subscribed but has a subscribed child.
        lines, _ = r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        self.assertIn('* LIST () "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))', lines)
        self.assertIn('* LIST (\\Subscribed \\HasNoChildren) "/" Tofu', lines)
        self.assertFalse(any("Banana" in l for l in lines), lines)
        _, tagged = r.cmd('LIST (RECURSIVEMATCH) "" "%"')
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = r.cmd('LIST (BOGUS) "" "%"')
        self.assertTrue(tagged.startswith("BAD"), tagged)
        # Several patterns, RETURN (SUBSCRIBED CHILDREN).
        lines, _ = r.ok('LIST "" ("Fruit" "Veg/%" "Tofu") RETURN (SUBSCRIBED CHILDREN)')
        self.assertIn('* LIST (\\HasChildren) "/" Fruit', lines)
        self.assertIn('* LIST (\\HasNoChildren) "/" Veg/Bean', lines)
        self.assertIn('* LIST (\\Subscribed \\HasNoChildren) "/" Tofu', lines)
        self.assertEqual(len(lines), 3, lines)
        # SPECIAL-USE selection: the auto-created special-use folders.
        lines, _ = r.ok('LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
        self.assertTrue(lines and all("\\" in l.split(")")[0] for l in lines), lines)
        self.assertFalse(any("Tofu" in l for l in lines), lines)
        # LIST-STATUS: a STATUS after each selectable mailbox.
        lines, _ = r.ok('LIST "" "T*" RETURN (STATUS (MESSAGES UIDNEXT))')
        self.assertEqual(lines, ['* LIST (\\HasNoChildren) "/" Tofu',
                                 '* STATUS Tofu (MESSAGES 1 UIDNEXT 2)'])
        lines, _ = r.ok('LIST "" "Veg" RETURN (STATUS (MESSAGES))')
        # Veg is only a level above Veg/Bean: no STATUS for it.
        self.assertEqual(lines, ['* LIST (\\NonExistent \\HasChildren) "/" Veg'])
        lines, _ = r.ok('LIST (SUBSCRIBED) "" "Gone" RETURN (STATUS (MESSAGES))')
        self.assertEqual(lines, ['* LIST (\\NonExistent \\Subscribed) "/" Gone'])
        _, tagged = r.cmd('LIST "" "%" RETURN (STATUS (BOGUS))')
        self.assertTrue(tagged.startswith("BAD"), tagged)
        # LSUB: a subscribed name that does not exist has no flags.
        lines, _ = r.ok('LSUB "" "*"')
        self.assertIn('* LSUB () "/" Gone', lines)
        # Plain LIST is unchanged.
        typ, data = m.list('""', "%")
        self.assertIn(b'(\\HasChildren) "/" Fruit', data)
        r.close()
        m.logout()


class ImapWorkaroundsTest(ImapExtCase):
    extra_config = """
imap_client_workarounds = delay-newmail tb-extra-mailbox-sep tb-lsub-flags
"""

    def test_workarounds(self):
        u = "list@example.com"
        m = self.login(u)
        m.create("WBox")
        m.subscribe("Gone")
        r = Raw(self.stratus.ports["imap"], u)
        # tb-lsub-flags: a subscribed nonexistent name is \Noselect.
        lines, _ = r.ok('LSUB "" "*"')
        self.assertIn('* LSUB (\\Noselect) "/" Gone', lines)
        # tb-extra-mailbox-sep: "WBox/" is WBox.
        lines, _ = r.ok('STATUS WBox/ (MESSAGES)')
        self.assertEqual(lines, ["* STATUS WBox (MESSAGES 0)"])
        # delay-newmail: new mail only at NOOP/CHECK, not after UID FETCH.
        r.ok("SELECT WBox")
        m.append("WBox", None, None, msg(1))
        lines, _ = r.ok("UID FETCH 1:* (FLAGS)")
        self.assertFalse(any("EXISTS" in l for l in lines), lines)
        lines, _ = r.ok("NOOP")
        self.assertIn("* 1 EXISTS", lines)
        self.assertIn("* 1 RECENT", lines)
        r.close()
        m.logout()
        log = self.stratus.read_log()
        self.assertNotRegex(log, r"imap_client_workarounds is accepted but not")


class ImapIdForwardTest(ImapExtCase):
    extra_config = """
login_trusted_networks = 127.0.0.0/8
"""

    def test_id_forwarding_from_trusted_network(self):
        r = Raw(self.stratus.ports["imap"])
        lines, tagged = r.ok('ID ("name" "proxy" "x-originating-ip" "192.0.2.7" '
                             '"x-originating-port" "4242" "x-session-id" "fwdSess42" '
                             '"x-connected-ip" "198.51.100.1")')
        self.assertTrue(lines[0].startswith('* ID ("name" "Stratus"'), lines)
        r.ok("LOGIN id@example.com pw")
        r.cmd("LOGOUT")
        r.close()
        log = self.stratus.read_log()
        self.assertRegex(log, r"ID from trusted 127\.0\.0\.1: client 192\.0\.2\.7:4242")
        self.assertRegex(log, r"fwdSess42")
        self.assertRegex(log, r"rip=192\.0\.2\.7")

    def test_id_after_login_is_not_forwarding(self):
        r = Raw(self.stratus.ports["imap"], "id@example.com")
        lines, _ = r.ok('ID ("x-originating-ip" "203.0.113.9")')
        self.assertTrue(lines[0].startswith("* ID "), lines)
        r.close()
        self.assertNotIn("203.0.113.9:", self.stratus.read_log())


class ImapIdUntrustedTest(ImapExtCase):
    def test_id_forwarding_ignored_when_untrusted(self):
        r = Raw(self.stratus.ports["imap"])
        r.ok('ID ("x-originating-ip" "192.0.2.99" "x-session-id" "evilSess")')
        r.ok("LOGIN id@example.com pw")
        r.cmd("LOGOUT")
        r.close()
        log = self.stratus.read_log()
        self.assertNotRegex(log, r"rip=192\.0\.2\.99")
        self.assertNotIn("ID from trusted", log)


if __name__ == "__main__":
    main()
