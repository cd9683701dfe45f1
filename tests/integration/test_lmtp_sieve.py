"""Sieve at LMTP delivery end to end: a script put over ManageSieve filters
the next smtplib.LMTP delivery; `stratusctl mailbox status` and the stored
objects show where the message went (keep, fileinto with and without
:create, discard, imap4flags, editheader), reject gives 550 5.7.1 during
the transaction, and a broken or failing script keeps the message."""

import glob
import os
import re
import smtplib

from stratus_harness import StratusTestCase, free_port, main
from test_managesieve import Sieve

USER = "user1@example.com"


def msg(subject, extra=b""):
    return (b"From: a@example.org\r\nTo: user1@example.com\r\n"
            b"Message-ID: <%s@example.org>\r\nSubject: %s\r\n%s\r\nbody of %s\r\n"
            % (subject, subject, extra, subject))


def objects_of(stratus, user):
    out = []
    for path in glob.glob(os.path.join(stratus.dir, "objects", "*", "*", user, "*", "*")):
        if path.endswith("/_mailbox"):  # svc-index's mailbox name marker
            continue
        with open(path, "rb") as f:
            out.append(f.read())
    return out


# Nothing listens there: mail Sieve sends fails, and the message is kept.
DEAD_SUBMISSION = "127.0.0.1:%d" % free_port()


class LmtpSieveTest(StratusTestCase):
    extra_config = """mail_plugins = $mail_plugins notify mail_log
submission_host = """ + DEAD_SUBMISSION + """
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  mail_log_fields = uid box msgid size flags
  sieve_max_actions = 32
  sieve_max_redirects = 4
  sieve_max_cpu_time = 30s
  sieve_vacation_min_period = 1d
}
"""

    def activate(self, script, name="filter"):
        c = Sieve(self.stratus.ports["sieve"])
        try:
            self.assertTrue(c.login().startswith(b"OK"))
            st, _ = c.put(name, script)
            self.assertTrue(st.startswith(b"OK"), st)
            st, _ = c.cmd('SETACTIVE "%s"\r\n' % name)
            self.assertTrue(st.startswith(b"OK"), st)
        finally:
            c.close()

    def deliver(self, data, rcpts=(USER,)):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail("sender@example.org")
            for r in rcpts:
                l.rcpt(r)
            try:
                l.data(data)
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error.decode()
            return 250, ""

    def deliver_raw(self, data):
        """(code, text) of the one recipient's DATA reply."""
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail("sender@example.org")
            l.rcpt(USER)
            l.putcmd("data")
            code, _ = l.getreply()
            self.assertEqual(code, 354)
            l.send(data + b".\r\n")
            return l.getreply()

    def messages(self, box):
        r = self.stratus.ctl("mailbox", "status", USER, box, check=False)
        if r.returncode != 0:
            return None
        m = re.search(r"messages=(\d+)", r.stdout)
        return int(m.group(1)) if m else None

    def stored_with(self, marker):
        return [o for o in objects_of(self.stratus, USER) if marker in o]

    def test_1_fileinto_create_and_flags(self):
        self.activate('require ["fileinto", "mailbox", "imap4flags"];\n'
                      'if header :contains "subject" "work" {\n'
                      '  fileinto :create :flags "\\\\Flagged" "Work";\n'
                      '}\n')
        self.assertEqual(self.deliver(msg(b"work1")), (250, ""))
        self.assertEqual(self.messages("Work"), 1)
        self.stratus.wait_log(r"box=Work, uid=\d+, msgid=<work1@example.org>, "
                              r"size=\d+, flags=\(\\Flagged\)")
        self.stratus.wait_log(r"sieve: msgid=<work1@example.org>: fileinto: "
                              r"storing mail into mailbox 'Work'")
        # not matching: implicit keep into INBOX
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"other1")), (250, ""))
        self.assertEqual(self.messages("INBOX"), before + 1)

    def test_2_fileinto_missing_without_create_keeps(self):
        self.activate('require "fileinto";\nfileinto "Nowhere";\n')
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"nowhere1")), (250, ""))
        self.assertIsNone(self.messages("Nowhere"))
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"mailbox Nowhere does not exist: saving to INBOX")

    def test_3_discard(self):
        self.activate('if header :is "subject" "spam1" { discard; }\n')
        before = len(objects_of(self.stratus, USER))
        self.assertEqual(self.deliver(msg(b"spam1")), (250, ""))
        self.assertEqual(len(objects_of(self.stratus, USER)), before)
        self.stratus.wait_log(r"msgid=<spam1@example.org>: marked message to be "
                              r"discarded")

    def test_4_ereject_550(self):
        # reject sends an MDN (test_lmtp_sieve_smtp.py); ereject refuses
        # during the transaction
        self.activate('require "ereject";\n'
                      'if header :is "subject" "rej1" { ereject "go away"; }\n')
        before = len(objects_of(self.stratus, USER))
        code, text = self.deliver_raw(msg(b"rej1"))
        self.assertEqual(code, 550)
        self.assertEqual(text.decode(), "5.7.1 go away")
        self.assertEqual(len(objects_of(self.stratus, USER)), before)
        self.stratus.wait_log(r"rejected message from <sender@example.org> \(ereject\)")

    def test_5_ereject_one_recipient_of_two(self):
        self.activate('require "ereject";\nereject "no thanks";\n')
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail("sender@example.org")
            l.rcpt(USER)
            l.rcpt("user2@example.com")
            l.putcmd("data")
            self.assertEqual(l.getreply()[0], 354)
            l.send(msg(b"erej1") + b".\r\n")
            self.assertEqual(l.getreply(), (550, b"5.7.1 no thanks"))
            self.assertEqual(l.getreply()[0], 250)

    def test_6_broken_script_keeps(self):
        # a script that compiles but fails at run time: a variables
        # match on an over-long string would be ideal; a missing
        # active script's source (the binary deleted below) is certain
        self.activate('keep;\n', name="gone")
        for f in glob.glob(os.path.join(self.stratus.dir, "objects", "*", "*", USER,
                                        "sieve", "gone*")):
            os.unlink(f)
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"broken1")), (250, ""))
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"sieve: active script gone does not exist; keeping")

    def test_7_redirect_not_sent_keeps(self):
        self.activate('redirect "elsewhere@example.net";\n')
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"redir1")), (250, ""))
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"redirect to <elsewhere@example.net> failed: .*Connection "
                              r"refused; keeping the message")

    def test_8_editheader(self):
        self.activate('require "editheader";\n'
                      'addheader "X-Filtered" "yes";\n'
                      'deleteheader "X-Drop";\n')
        self.assertEqual(self.deliver(msg(b"edit1", b"X-Drop: secret\r\n")), (250, ""))
        stored = self.stored_with(b"<edit1@example.org>")
        self.assertEqual(len(stored), 1)
        self.assertIn(b"X-Filtered: yes\r\n", stored[0])
        self.assertNotIn(b"X-Drop", stored[0])

    def test_9_runtime_error_keeps(self):
        # more actions than sieve_max_actions allows: a run-time error
        self.activate('require ["fileinto", "copy", "mailbox"];\n' +
                      "".join('fileinto :copy :create "Many%d";\n' % i
                              for i in range(40)))
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"many1")), (250, ""))
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.assertIsNone(self.messages("Many0"))
        self.stratus.wait_log(r"execution of script filter failed: .*keeping the message")

    def test_10_body_text_decoded_at_delivery(self):
        # RFC 5173 :text and :content see base64 text decoded, HTML as text
        self.activate('require ["body", "fileinto", "mailbox"];\n'
                      'if body :text :contains "invoice overdue" {\n'
                      '  fileinto :create "Bills";\n'
                      '} elsif body :content "text/html" :contains "<b>" {\n'
                      '  fileinto :create "Tagged";\n'
                      '}\n')
        import base64
        text = base64.b64encode(b"Your invoice overdue notice.\r\n")
        mime = (b"MIME-Version: 1.0\r\n"
                b"Content-Type: multipart/alternative; boundary=b1\r\n"
                b"\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" + text +
                b"\r\n--b1\r\nContent-Type: text/html\r\n\r\n"
                b"<p>Your <b>invoice</b></p>\r\n--b1--\r\n")
        data = (b"From: a@example.org\r\nTo: user1@example.com\r\n"
                b"Message-ID: <bill1@example.org>\r\nSubject: bill1\r\n" + mime)
        self.assertEqual(self.deliver(data), (250, ""))
        self.assertEqual(self.messages("Bills"), 1)
        # undecoded, only :raw would see the base64 text
        self.activate('require ["body", "fileinto", "mailbox"];\n'
                      'if body :raw :contains "invoice overdue" {\n'
                      '  fileinto :create "Raw";\n'
                      '}\n', name="raw")
        self.assertEqual(self.deliver(data.replace(b"bill1", b"bill2")), (250, ""))
        self.assertIsNone(self.messages("Raw"))


if __name__ == "__main__":
    main()
