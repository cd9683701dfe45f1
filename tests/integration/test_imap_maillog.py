"""mail_log events of IMAP sessions: one line per event, in Dovecot's
format with the session's mail_log_prefix, e.g.
  imap(user)<pid><session>: Info: expunge: box=INBOX, uid=5, msgid=<..>, size=..
for save (APPEND), flag_change, delete, undelete, expunge (EXPUNGE, UID
EXPUNGE, CLOSE), copy, MOVE (copy + expunge) and mailbox create/rename/
delete, read back from the service log. Events that are not configured
write nothing; an unknown event name stops svc-imap with a clear error."""

import imaplib
import re
import time
import unittest

from stratus_harness import Stratus, StratusTestCase, main

USER = "user1@example.com"
PREFIX = r"imap\(user1@example\.com\)<\d+><[^>]+>: Info: "


def msg(n, subject=None):
    subject = subject or b"log test %d" % n
    return (b"From: Sender %d <s%d@example.org>\r\nSubject: %s\r\n"
            b"Message-ID: <log%d@example.org>\r\n\r\nbody %d\r\n" % (n, n, subject, n, n))


class MailLogTestBase(StratusTestCase):
    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pass1")
        return m

    def mark(self):
        return len(self.stratus.read_log())

    def lines(self, start, pattern=r"(?:save|expunge|delete|undelete|flag_change|copy from \S+): .*"
                                   r"|Mailbox (?:created|deleted|renamed): .*"):
        """The mail_log lines of user1 logged since start, prefix cut."""
        text = self.stratus.read_log()[start:]
        return [m.group(1) for m in re.finditer(PREFIX + "(" + pattern + ")$", text, re.M)]

    def wait_lines(self, start, n, timeout=5):
        deadline = time.time() + timeout
        while True:
            got = self.lines(start)
            if len(got) >= n or time.time() > deadline:
                return got
            time.sleep(0.05)


class MailLogAllFieldsTest(MailLogTestBase):
    extra_config = """
mail_plugins = $mail_plugins notify mail_log
plugin {
  mail_log_events = delete undelete expunge copy mailbox_delete mailbox_rename flag_change save mailbox_create
  mail_log_fields = uid box msgid size vsize from subject flags
}
"""

    def test_1_no_warning_for_mail_log(self):
        log = self.stratus.read_log()
        for s in ("mail_plugins: mail_log", "mail_log_events", "mail_log_fields"):
            self.assertNotRegex(log, r"setting %s is accepted but not implemented" % s)

    def test_2_save_flags_delete_expunge(self):
        m = self.login()
        m.create("Logs")
        start = self.mark()
        body = msg(1)
        typ, data = m.append("Logs", r"(\Seen)", None, body)
        self.assertEqual(typ, "OK")
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
        size = len(body)
        common = ("box=Logs, uid=%d, msgid=<log1@example.org>, size=%d, vsize=%d, "
                  "from=Sender 1 <s1@example.org>, subject=log test 1" % (uid, size, size))
        self.assertEqual(self.wait_lines(start, 1), ["save: %s, flags=(\\Seen)" % common])

        m.select("Logs")
        start = self.mark()
        m.uid("STORE", str(uid), "+FLAGS", r"(\Flagged)")
        m.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)")
        m.uid("STORE", str(uid), "-FLAGS", r"(\Deleted)")
        m.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)")
        m.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)")   # no change: no line
        m.expunge()
        got = self.wait_lines(start, 5)
        self.assertEqual(got, [
            "flag_change: %s, flags=(\\Seen \\Flagged)" % common,
            "delete: %s, flags=(\\Seen \\Flagged \\Deleted)" % common,
            "undelete: %s, flags=(\\Seen \\Flagged)" % common,
            "delete: %s, flags=(\\Seen \\Flagged \\Deleted)" % common,
            "expunge: %s, flags=(\\Seen \\Flagged \\Deleted)" % common,
        ])
        m.logout()

    def test_2b_fetch_sets_seen(self):
        """FETCH BODY[] sets \\Seen: a flag_change line, as for STORE;
        BODY.PEEK[] and a message already seen log nothing."""
        m = self.login()
        m.create("Seen")
        body = msg(7)
        typ, data = m.append("Seen", None, None, body)
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
        m.select("Seen")
        start = self.mark()
        m.uid("FETCH", str(uid), "(BODY.PEEK[])")
        m.uid("FETCH", str(uid), "(BODY[])")
        m.uid("FETCH", str(uid), "(BODY[])")
        size = len(body)
        self.assertEqual(self.wait_lines(start, 1), [
            "flag_change: box=Seen, uid=%d, msgid=<log7@example.org>, "
            "size=%d, vsize=%d, from=Sender 7 <s7@example.org>, "
            "subject=log test 7, flags=(\\Seen)" % (uid, size, size)])
        time.sleep(0.3)
        self.assertEqual(len(self.lines(start)), 1)
        m.logout()

    def test_3_copy_move_close(self):
        m = self.login()
        m.create("Src")
        m.create("Dst")
        for i in (10, 11, 12):
            m.append("Src", None, None, msg(i, b"=?UTF-8?Q?caf=C3=A9?= %d" % i))
        m.select("Src")
        start = self.mark()
        typ, data = m.copy("1", "Dst")
        self.assertEqual(typ, "OK", data)
        src_uid, dst_uid = re.search(rb"COPYUID \d+ (\d+) (\d+)", data[0]).groups()
        got = self.wait_lines(start, 1)
        self.assertEqual(len(got), 1, got)
        self.assertRegex(got[0], r"^copy from Src: box=Dst, uid=%s, msgid=<log10@example.org>, "
                         r"size=\d+, vsize=\d+, from=Sender 10 <s10@example.org>, "
                         r"subject=café 10, flags=\(\)$" % dst_uid.decode())

        start = self.mark()
        typ, data = m._simple_command("MOVE", "2", "Dst")
        self.assertEqual(typ, "OK", data)
        got = self.wait_lines(start, 2)
        self.assertEqual(len(got), 2, got)
        self.assertRegex(got[0], r"^copy from Src: box=Dst, uid=\d+, msgid=<log11@example.org>")
        self.assertRegex(got[1], r"^expunge: box=Src, uid=\d+, msgid=<log11@example.org>")

        start = self.mark()
        m.store("1", "+FLAGS.SILENT", r"(\Deleted)")
        m.close()
        got = self.wait_lines(start, 2)
        self.assertEqual(len(got), 2, got)
        self.assertRegex(got[0], r"^delete: box=Src, uid=\d+, msgid=<log10@example.org>")
        self.assertRegex(got[1], r"^expunge: box=Src, uid=\d+, msgid=<log10@example.org>")
        m.logout()

    def test_4_mailbox_events(self):
        m = self.login()
        start = self.mark()
        self.assertEqual(m.create("Proj&AOk-t")[0], "OK")       # "Projét" in mUTF-7
        self.assertEqual(m.rename("Proj&AOk-t", "Archive")[0], "OK")
        self.assertEqual(m.delete("Archive")[0], "OK")
        self.assertEqual(m.delete("NoSuchBox")[0], "NO")         # failed: no line
        got = self.wait_lines(start, 3)
        self.assertEqual(got, ["Mailbox created: Projét",
                               "Mailbox renamed: Projét -> Archive",
                               "Mailbox deleted: Archive"])
        m.logout()


class MailLogDefaultsTest(MailLogTestBase):
    """Only expunge configured, default fields (uid box msgid size)."""
    extra_config = """
mail_plugins = $mail_plugins notify mail_log
plugin {
  mail_log_events = expunge
}
"""

    def test_only_configured_events(self):
        m = self.login()
        start = self.mark()
        body = msg(30)
        m.append("INBOX", None, None, body)
        m.create("Other")
        m.select("INBOX")
        m.store("1:*", "+FLAGS", r"(\Deleted)")
        m.expunge()
        got = self.wait_lines(start, 1)
        time.sleep(0.2)
        got = self.wait_lines(start, 1)
        self.assertEqual(len(got), 1, got)
        self.assertRegex(got[0], r"^expunge: box=INBOX, uid=\d+, msgid=<log30@example.org>, "
                         r"size=%d$" % len(body))
        m.logout()


class MailLogOffTest(MailLogTestBase):
    """mail_log settings without the plugin: nothing is logged."""
    extra_config = """
plugin {
  mail_log_events = expunge save
}
"""

    def test_plugin_off(self):
        m = self.login()
        start = self.mark()
        m.append("INBOX", None, None, msg(40))
        m.select("INBOX")
        m.store("1:*", "+FLAGS", r"(\Deleted)")
        m.expunge()
        m.logout()
        time.sleep(0.2)
        self.assertEqual([l for l in self.lines(start) if l.startswith(("save", "expunge"))], [])


class MailLogBadConfigTest(unittest.TestCase):
    def test_unknown_event_is_an_error(self):
        st = Stratus(extra="mail_plugins = $mail_plugins mail_log\n"
                           "plugin {\n  mail_log_events = expunge expunged\n}\n")
        try:
            st.start(wait=False)
            st.wait_log(r"Unknown name in mail_log_events: 'expunged'", timeout=20)
        finally:
            st.cleanup()


if __name__ == "__main__":
    main()
