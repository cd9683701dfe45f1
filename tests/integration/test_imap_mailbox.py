"""svc-imap mailbox commands through svc-index: LIST/LSUB, CREATE, DELETE,
RENAME, SUBSCRIBE/UNSUBSCRIBE, STATUS, SELECT/EXAMINE, CLOSE/UNSELECT/CHECK,
with the spec's namespace and auto-created special-use folders."""

import imaplib
import unittest

from stratus_harness import StratusTestCase, main


class ImapMailboxTest(StratusTestCase):
    extra_config = """
imap_client_workarounds = tb-extra-mailbox-sep
namespace inbox {
  prefix =
  separator = /
  inbox = yes
}
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

    def login(self, user="user1@example.com", password="pass1"):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        try:
            m.login(user, password)
        except imaplib.IMAP4.error as e:
            m.shutdown()
            if "UNAVAILABLE" in str(e):
                self.skipTest("svc-auth not answering")
            raise
        return m

    def lines(self, data):
        return [d.decode() if isinstance(d, bytes) else d for d in data if d is not None]

    def test_list_shows_inbox_and_autocreated(self):
        m = self.login()
        typ, data = m.list('""', "*")
        if typ != "OK" and b"UNAVAILABLE" in b"".join(data or []):
            self.skipTest("svc-index not answering")
        self.assertEqual(typ, "OK", data)
        lines = self.lines(data)
        self.assertTrue(any(l.endswith('"/" INBOX') for l in lines), lines)
        self.assertIn('(\\HasNoChildren \\Drafts) "/" Drafts', lines)
        self.assertIn('(\\HasNoChildren \\Sent) "/" Sent', lines)
        typ, data = m.lsub('""', "*")
        self.assertIn('() "/" Sent', self.lines(data))
        typ, data = m.list('""', '""')
        self.assertEqual(self.lines(data), ['(\\Noselect) "/" ""'])
        m.logout()

    def test_create_rename_delete_subscribe(self):
        m = self.login("user2@example.com", "pass2")
        typ, data = m.create("Work/")     # a trailing separator is allowed
        if typ != "OK" and b"UNAVAILABLE" in data[0]:
            self.skipTest("svc-index not answering")
        # OBJECTID (RFC 8474 4.1): CREATE names the new MAILBOXID.
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"^\[MAILBOXID \(F[0-9a-f]{32}\)\] Create completed\.$")
        typ, data = m.create("Work/Projects")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"^\[MAILBOXID \(F[0-9a-f]{32}\)\] Create completed\.$")
        typ, data = m.create("Work/Projects")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.list('""', "Work*")
        lines = self.lines(data)
        self.assertIn('(\\HasChildren) "/" Work', lines)
        self.assertIn('(\\HasNoChildren) "/" Work/Projects', lines)
        self.assertEqual(m.rename("Work", "Job")[0], "OK")
        typ, data = m.list('""', "Job/%")
        self.assertEqual(self.lines(data), ['(\\HasNoChildren) "/" Job/Projects'])
        self.assertEqual(m.subscribe("Job/Projects/")[0], "OK")  # tb-extra-mailbox-sep
        typ, data = m.lsub('""', "Job*")
        self.assertIn('() "/" Job/Projects', self.lines(data))
        self.assertEqual(m.unsubscribe("Job/Projects")[0], "OK")
        self.assertEqual(m.delete("Job/Projects")[0], "OK")
        typ, data = m.delete("Nope")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])
        typ, data = m.delete("Drafts")
        self.assertEqual(typ, "NO")
        typ, data = m.unsubscribe("Sent")
        self.assertEqual(typ, "NO")
        typ, data = m.delete("INBOX")
        self.assertEqual(typ, "NO")
        typ, data = m.create("bad&name")
        self.assertEqual(typ, "NO")
        m.logout()

    def test_utf7_names(self):
        m = self.login()
        typ, data = m.create("&ZeVnLIqe-")
        if typ != "OK" and b"UNAVAILABLE" in data[0]:
            self.skipTest("svc-index not answering")
        self.assertEqual(typ, "OK")
        typ, data = m.list('""', "&ZeVnLIqe-")
        self.assertEqual(self.lines(data), ['(\\HasNoChildren) "/" &ZeVnLIqe-'])
        m.logout()

    def test_status_select_examine_close(self):
        m = self.login()
        typ, data = m.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
        if typ != "OK" and b"UNAVAILABLE" in data[0]:
            self.skipTest("svc-index not answering")
        self.assertEqual(typ, "OK", data)
        self.assertRegex(data[0].decode(), r'^INBOX \(MESSAGES 0 RECENT 0 UIDNEXT 1 '
                                           r'UIDVALIDITY \d+ UNSEEN 0\)$')
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"0"]))
        self.assertIn("READ-WRITE", m.untagged_responses)
        self.assertEqual(m.check()[0], "OK")
        self.assertEqual(m.close()[0], "OK")
        typ, data = m.select("Drafts", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertEqual(m.unselect()[0], "OK")
        typ, data = m.select("Nope")
        self.assertEqual(typ, "NO")
        m.logout()

    def test_close_without_selection(self):
        m = self.login()
        m.state = "SELECTED"   # let imaplib send it anyway
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD.*No mailbox selected"):
            m._simple_command("CLOSE")
        m.state = "AUTH"
        m.logout()


if __name__ == "__main__":
    main()
