"""mail_log events of POP3 sessions, as IMAP writes them: QUIT's expunge
of the messages DELE'd writes one line per message in Dovecot's format
with the session's prefix, e.g.
  pop3(user)<pid><session>: Info: expunge: box=INBOX, uid=1, msgid=<..>, size=..
with the headers svc-index had cached; a session that ends without QUIT
(no UPDATE state) writes none, and without the plugin nothing is logged."""

import poplib
import re
import smtplib
import unittest

from stratus_harness import StratusTestCase, main

USER = "user1@example.com"
PREFIX = r"pop3\(user1@example\.com\)<\d+><[^>]+>: Info: "


def msg(n):
    return ("From: Sender %d <s%d@example.org>\r\nSubject: pop log %d\r\n"
            "Message-ID: <pop%d@example.org>\r\n\r\nbody %d\r\n" % (n, n, n, n, n))


class Pop3MailLogTest(StratusTestCase):
    extra_config = """
protocol pop3 {
  mail_plugins = $mail_plugins mail_log
}
plugin {
  mail_log_events = expunge
  mail_log_fields = uid box msgid size subject
}
"""

    def deliver(self, *ns):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            for n in ns:
                l.sendmail("a@example.net", [USER], msg(n))

    def lines(self, start):
        text = self.stratus.read_log()[start:]
        return [m.group(1) for m in re.finditer(PREFIX + "(expunge: .*)$", text, re.M)]

    def pop3(self):
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"])
        p.user(USER)
        p.pass_("pass1")
        return p

    def test_expunge_lines(self):
        log = self.stratus.read_log()
        for s in ("mail_plugins: mail_log", "mail_log_events", "mail_log_fields"):
            self.assertNotRegex(log, r"setting %s is accepted but not implemented" % s)
        self.deliver(1, 2, 3)
        start = len(self.stratus.read_log())
        # dropped without QUIT: nothing is expunged, nothing logged
        p = self.pop3()
        p.dele(1)
        p.sock.close()
        p = self.pop3()
        sizes = {int(a): int(b) for a, b in (l.split() for l in p.list()[1])}
        p.dele(1)
        p.dele(3)
        p.quit()
        self.stratus.wait_log(PREFIX + r"expunge: .*uid=3", start_at=start)
        self.assertEqual(self.lines(start), [
            "expunge: box=INBOX, uid=1, msgid=<pop1@example.org>, size=%d, subject=pop log 1" % sizes[1],
            "expunge: box=INBOX, uid=3, msgid=<pop3@example.org>, size=%d, subject=pop log 3" % sizes[3],
        ])


class Pop3NoMailLogTest(StratusTestCase):
    def test_nothing_without_the_plugin(self):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.sendmail("a@example.net", [USER], msg(9))
        start = len(self.stratus.read_log())
        p = poplib.POP3("127.0.0.1", self.stratus.ports["pop3"])
        p.user(USER)
        p.pass_("pass1")
        p.dele(1)
        p.quit()
        self.stratus.wait_log(r"pop3\(user1@example\.com\).*Disconnected", start_at=start)
        self.assertNotIn("expunge:", self.stratus.read_log()[start:])


if __name__ == "__main__":
    main()
