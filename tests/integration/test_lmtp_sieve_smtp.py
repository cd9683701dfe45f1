"""Sieve's outgoing mail at LMTP delivery, received by a real SMTP server
(Postfix's smtp-sink, started here on loopback, dumping each message to a
file): redirect (original body, envelope sender, loop stopped), vacation
(once per sender and period, across two deliveries and a restart of the
services; never to auto-submitted or list mail, nor when the recipient is
not in To/Cc), reject as an RFC 5429 MDN while LMTP answers 250, the
sieve_before/sieve_after sequence, and the failure cases: the receiver
down (message kept, 250) and sendmail_path as the alternative."""

import email
import email.policy
import glob
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest

from stratus_harness import StratusTestCase, free_port, main
from test_managesieve import Sieve

USER = "user1@example.com"
SMTP_SINK = "/usr/sbin/smtp-sink"
HAVE_SINK = os.access(SMTP_SINK, os.X_OK)

WORK = tempfile.mkdtemp(prefix="stratus-sieve-smtp-")
os.chmod(WORK, 0o755)
SINK_DIR = os.path.join(WORK, "sink")
os.mkdir(SINK_DIR)
os.chmod(SINK_DIR, 0o777)  # smtp-sink writes as nobody
SINK_PORT = free_port()
DEAD_PORT = free_port()
GLOBAL_BEFORE = os.path.join(WORK, "before.sieve")
GLOBAL_AFTER_DIR = os.path.join(WORK, "after.d")
os.mkdir(GLOBAL_AFTER_DIR)
with open(GLOBAL_BEFORE, "w") as f:
    f.write('require ["fileinto", "copy", "mailbox"];\n'
            'if header :contains "subject" "audit" {\n'
            '  fileinto :copy :create "Audit";\n'
            '}\n'
            'if header :contains "subject" "globaljunk" {\n'
            '  fileinto :create "Junk";\n'
            '  stop;\n'
            '}\n')
with open(os.path.join(GLOBAL_AFTER_DIR, "10-after.sieve"), "w") as f:
    f.write('require ["fileinto", "mailbox"];\n'
            'if header :contains "subject" "afterwards" {\n'
            '  fileinto :create "After";\n'
            '}\n')
with open(os.path.join(GLOBAL_AFTER_DIR, "ignored.txt"), "w") as f:
    f.write("not a sieve script\n")


def msg(subject, extra=b"", to=b"user1@example.com", body=None):
    return (b"From: sender@example.org\r\nTo: %s\r\n"
            b"Message-ID: <%s@example.org>\r\nSubject: %s\r\n%s\r\n%s"
            % (to, subject, subject, extra,
               body if body is not None else b"body of %s\r\n" % subject))


def sink_messages():
    out = []
    for path in sorted(glob.glob(os.path.join(SINK_DIR, "msg.*"))):
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def sink_wait(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [m for m in sink_messages() if pred(m)]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("no matching message at smtp-sink; have:\n%r" % sink_messages())


def sink_body(dump):
    """The message as sent: the dump minus smtp-sink's own header lines
    (X-Client-*, X-Helo-Args, X-Mail-Args, X-Rcpt-Args, Received)."""
    text = dump.decode("utf-8", "replace")
    m = re.search(r"Received: from .*?\n\t.*?\n\t.*?\n", text)
    return text[m.end():] if m else text


class SieveSmtpBase(StratusTestCase):
    sink = None

    @classmethod
    def setUpClass(cls):
        if not HAVE_SINK:
            raise unittest.SkipTest("smtp-sink (Debian's postfix) is not installed")
        args = [SMTP_SINK]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += ["-d", os.path.join(SINK_DIR, "msg."), "127.0.0.1:%d" % SINK_PORT, "50"]
        cls.sink = subprocess.Popen(args)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                smtplib.SMTP("127.0.0.1", SINK_PORT, timeout=2).quit()
                break
            except OSError:
                time.sleep(0.05)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.sink is not None:
                cls.sink.send_signal(signal.SIGTERM)
                cls.sink.wait()

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

    def deliver(self, data, sender="sender@example.org"):
        """(code, text) of the one recipient's DATA reply."""
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail(sender)
            l.rcpt(USER)
            l.putcmd("data")
            code, _ = l.getreply()
            self.assertEqual(code, 354)
            l.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            return l.getreply()

    def messages(self, box):
        r = self.stratus.ctl("mailbox", "status", USER, box, check=False)
        if r.returncode != 0:
            return None
        m = re.search(r"messages=(\d+)", r.stdout)
        return int(m.group(1)) if m else None


class LmtpSieveSmtpTest(SieveSmtpBase):
    extra_config = f"""mail_plugins = $mail_plugins notify mail_log
submission_host = 127.0.0.1:{SINK_PORT}
submission_timeout = 10s
postmaster_address = mailer-daemon@%d
hostname = lmtp.example.com
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve_before = {GLOBAL_BEFORE}
  sieve_after = file:{GLOBAL_AFTER_DIR};bindir=/nonexistent
  sieve_max_redirects = 2
  sieve_vacation_min_period = 1h
}}
"""

    def test_1_redirect_arrives_with_original_body(self):
        self.activate('redirect "fwd@example.net";\n')
        before = self.messages("INBOX") or 0
        body = b"line one\r\n.leading dot\r\n" + b"x" * 3000 + b"\r\nend\r\n"
        code, _ = self.deliver(msg(b"redir2", body=body))
        self.assertEqual(code, 250)
        found = sink_wait(lambda m: b"<redir2@example.org>" in m)
        self.assertEqual(len(found), 1)
        dump = found[0]
        self.assertIn(b"X-Mail-Args: <sender@example.org>\n", dump)
        self.assertIn(b"X-Rcpt-Args: <fwd@example.net>\n", dump)
        sent = sink_body(dump)
        self.assertTrue(sent.startswith("X-Sieve-Redirected-From: <%s>\n" % USER), sent[:200])
        # the original, byte for byte (smtp-sink writes LF line ends)
        original = msg(b"redir2", body=body).replace(b"\r\n", b"\n").decode()
        self.assertTrue(sent.endswith(original + "\n") or sent.endswith(original), sent[-300:])
        # redirect cancels the implicit keep
        self.assertEqual(self.messages("INBOX") or 0, before)
        self.stratus.wait_log(r"msgid=<redir2@example.org>: forwarded to <fwd@example.net>")

    def test_2_redirect_loop_is_kept(self):
        self.activate('redirect "fwd@example.net";\n')
        before = self.messages("INBOX") or 0
        n_sink = len(sink_messages())
        looped = msg(b"loop1", b"X-Sieve-Redirected-From: <%s>\r\n" % USER.encode())
        self.assertEqual(self.deliver(looped)[0], 250)
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"msgid=<loop1@example.org>: redirect to <fwd@example.net> "
                              r"not done: .*mail loop\); keeping the message")
        many = msg(b"loop2", b"".join(b"Delivered-To: hop%d@example.net\r\n" % i
                                      for i in range(12)))
        self.assertEqual(self.deliver(many)[0], 250)
        self.assertEqual(self.messages("INBOX"), before + 2)
        self.stratus.wait_log(r"msgid=<loop2@example.org>: .*too many Delivered-To")
        time.sleep(0.3)
        self.assertEqual(len(sink_messages()), n_sink)

    def test_3_too_many_redirects_keeps(self):
        self.activate('redirect "a@example.net";\nredirect "b@example.net";\n'
                      'redirect "c@example.net";\n')
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"many1"))[0], 250)
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"msgid=<many1@example.org>: execution of script filter failed: "
                              r".*too many redirects")
        self.assertEqual([m for m in sink_messages() if b"<many1@example.org>" in m], [])

    def vacation_script(self, extra=""):
        self.activate('require "vacation";\n'
                      'vacation :days 1 %s:subject "Away" '
                      ':addresses ["alias@example.com"] "I am away until Monday.";\n' % extra)

    def vacation_replies(self, to):
        return [m for m in sink_messages()
                if b"X-Rcpt-Args: <%s>\n" % to.encode() in m and b"Subject: Away" in m]

    def test_4_vacation_once_per_sender_across_restart(self):
        self.vacation_script()
        sender = "friend@example.org"
        self.assertEqual(self.deliver(msg(b"vac1"), sender=sender)[0], 250)
        found = sink_wait(lambda m: b"X-Rcpt-Args: <%s>" % sender.encode() in m)
        self.assertEqual(len(found), 1)
        dump = found[0]
        self.assertIn(b"X-Mail-Args: <>\n", dump)
        reply = email.message_from_string(sink_body(dump), policy=email.policy.default)
        self.assertEqual(reply["Auto-Submitted"], "auto-replied (vacation)")
        self.assertEqual(reply["From"], USER)
        self.assertEqual(reply["To"].addresses[0].addr_spec, sender)
        self.assertEqual(reply["In-Reply-To"], "<vac1@example.org>")
        self.assertIn("I am away until Monday.", reply.get_content())
        self.stratus.wait_log(r"msgid=<vac1@example.org>: sent vacation response to <%s>" % sender)
        # the message itself is kept
        self.assertGreaterEqual(self.messages("INBOX"), 1)
        # second message of the same sender within the period: no reply
        self.assertEqual(self.deliver(msg(b"vac2"), sender=sender)[0], 250)
        time.sleep(0.3)
        self.assertEqual(len(self.vacation_replies(sender)), 1)
        # the tracking survives a restart of the services
        text = self.stratus.stop()
        self.assertNotRegex(text, r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")
        self.stratus.start()
        self.assertEqual(self.deliver(msg(b"vac3"), sender=sender)[0], 250)
        time.sleep(0.3)
        self.assertEqual(len(self.vacation_replies(sender)), 1)
        # another sender gets its own reply
        other = "colleague@example.org"
        self.assertEqual(self.deliver(msg(b"vac4"), sender=other)[0], 250)
        sink_wait(lambda m: b"X-Rcpt-Args: <%s>" % other.encode() in m)
        self.assertEqual(len(self.vacation_replies(other)), 1)

    def test_5_no_vacation_to_automatic_mail(self):
        self.vacation_script()
        cases = [
            ("auto@example.org", msg(b"auto1", b"Auto-Submitted: auto-generated\r\n")),
            ("list@example.org", msg(b"list1", b"List-Id: <news.example.org>\r\n")),
            ("bulk@example.org", msg(b"bulk1", b"Precedence: bulk\r\n")),
            ("owner-news@example.org", msg(b"owner1")),
            ("news-request@example.org", msg(b"req1")),
            ("MAILER-DAEMON@example.org", msg(b"daemon1")),
            ("notme@example.org", msg(b"notme1", to=b"someone@example.net")),
        ]
        for sender, data in cases:
            self.assertEqual(self.deliver(data, sender=sender)[0], 250)
        # :addresses makes an alias count as "me"
        self.assertEqual(self.deliver(msg(b"alias1", to=b"alias@example.com"),
                                      sender="alias-sender@example.org")[0], 250)
        sink_wait(lambda m: b"X-Rcpt-Args: <alias-sender@example.org>" in m)
        for sender, _ in cases:
            self.assertEqual(self.vacation_replies(sender), [], sender)

    def test_6_reject_sends_mdn_and_answers_250(self):
        self.activate('require "reject";\nif header :is "subject" "rej1" { reject "go away"; }\n')
        before = self.messages("INBOX") or 0
        code, text = self.deliver(msg(b"rej1"), sender="rejected@example.org")
        self.assertEqual(code, 250, text)
        self.assertEqual(self.messages("INBOX") or 0, before)
        dump = sink_wait(lambda m: b"X-Rcpt-Args: <rejected@example.org>" in m)[0]
        self.assertIn(b"X-Mail-Args: <>\n", dump)
        mdn = email.message_from_string(sink_body(dump), policy=email.policy.default)
        self.assertEqual(mdn["From"], "mailer-daemon@example.com")
        self.assertEqual(mdn["Subject"], "Rejected: rej1")
        self.assertEqual(mdn.get_content_type(), "multipart/report")
        self.assertEqual(mdn.get_param("report-type"), "disposition-notification")
        parts = list(mdn.iter_parts())
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/disposition-notification", "message/rfc822"])
        self.assertIn("Your message to <%s> was automatically rejected:" % USER,
                      parts[0].get_content())
        self.assertIn("go away", parts[0].get_content())
        report = parts[1].get_payload()
        report_text = "".join(str(p) for p in report) if isinstance(report, list) else str(report)
        self.assertRegex(report_text, r"Final-Recipient: rfc822; %s" % re.escape(USER))
        self.assertRegex(report_text, r"Disposition: automatic-action/MDN-sent-automatically; deleted")
        self.assertRegex(report_text, r"Original-Message-ID: <rej1@example.org>")
        self.assertIn("Subject: rej1", str(parts[2]))
        self.stratus.wait_log(r"msgid=<rej1@example.org>: rejected message from "
                              r"<rejected@example.org> \(reject\): MDN sent")

    def test_7_ereject_stays_protocol_level(self):
        self.activate('require "ereject";\nereject "not here";\n')
        code, text = self.deliver(msg(b"erej1"))
        self.assertEqual((code, text), (550, b"5.7.1 not here"))

    def test_8_sieve_before_copy_then_user_script(self):
        self.activate('require ["fileinto", "mailbox"];\nfileinto :create "Work";\n')
        work = self.messages("Work") or 0
        audit = self.messages("Audit") or 0
        inbox = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"audit1"))[0], 250)
        self.assertEqual(self.messages("Audit"), audit + 1)
        self.assertEqual(self.messages("Work"), work + 1)
        self.assertEqual(self.messages("INBOX") or 0, inbox)

    def test_9_sieve_before_fileinto_ends_the_sequence(self):
        # the global script files into Junk (cancelling its keep): the
        # user's redirect never runs
        self.activate('redirect "fwd-junk@example.net";\n')
        junk = self.messages("Junk") or 0
        self.assertEqual(self.deliver(msg(b"globaljunk1"))[0], 250)
        self.assertEqual(self.messages("Junk"), junk + 1)
        time.sleep(0.3)
        self.assertEqual([m for m in sink_messages() if b"fwd-junk@example.net" in m], [])

    def test_a_sieve_after_runs_only_after_a_keep(self):
        self.activate('keep;\n')
        after = self.messages("After") or 0
        inbox = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"afterwards1"))[0], 250)
        # the user's keep passed control on; sieve_after filed it
        self.assertEqual(self.messages("After"), after + 1)
        self.assertEqual(self.messages("INBOX") or 0, inbox)
        # the user's fileinto ends the sequence: sieve_after does not run
        self.activate('require ["fileinto", "mailbox"];\nfileinto :create "Mine";\n')
        self.assertEqual(self.deliver(msg(b"afterwards2"))[0], 250)
        self.assertEqual(self.messages("After"), after + 1)
        self.assertEqual(self.messages("Mine"), 1)

    def test_b_startup_log(self):
        log = self.stratus.read_log()
        self.assertNotRegex(log, r"setting (submission_host|sendmail_path|postmaster_address"
                                 r"|plugin/sieve_before|plugin/sieve_after) is accepted but not")
        self.assertIn("sieve: global script %s loaded" % GLOBAL_BEFORE, log)


class LmtpSieveSmtpDownTest(SieveSmtpBase):
    """The receiver is down: redirect and reject keep the message (250)."""
    extra_config = f"""submission_host = 127.0.0.1:{DEAD_PORT}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
"""

    def test_redirect_kept_when_receiver_down(self):
        self.activate('redirect "fwd@example.net";\n')
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"down1"))[0], 250)
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"msgid=<down1@example.org>: redirect to <fwd@example.net> "
                              r"failed: smtp 127.0.0.1:\d+: connect failed: Connection refused; "
                              r"keeping the message")

    def test_reject_kept_when_receiver_down(self):
        self.activate('require "reject";\nreject "no";\n')
        before = self.messages("INBOX") or 0
        self.assertEqual(self.deliver(msg(b"down2"))[0], 250)
        self.assertEqual(self.messages("INBOX"), before + 1)
        self.stratus.wait_log(r"msgid=<down2@example.org>: reject: the rejection MDN to "
                              r"<sender@example.org> was not sent: .*Connection refused")


FAKE_SENDMAIL = os.path.join(WORK, "sendmail")
with open(FAKE_SENDMAIL, "w") as f:
    f.write("#!/bin/sh\nn=$$\nprintf '%%s\\n' \"$@\" > %s/sm.$n.args\ncat > %s/sm.$n.msg\n"
            % (WORK, WORK))
os.chmod(FAKE_SENDMAIL, 0o755)


class LmtpSieveSendmailTest(SieveSmtpBase):
    """Without submission_host, sendmail_path is run."""
    extra_config = f"""sendmail_path = {FAKE_SENDMAIL}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
"""

    def test_redirect_through_sendmail(self):
        self.activate('redirect "viasendmail@example.net";\n')
        self.assertEqual(self.deliver(msg(b"sm1"))[0], 250)
        args = glob.glob(os.path.join(WORK, "sm.*.args"))
        self.assertEqual(len(args), 1)
        with open(args[0]) as f:
            self.assertEqual(f.read(), "-i\n-f\nsender@example.org\n--\nviasendmail@example.net\n")
        with open(args[0][:-5] + ".msg", "rb") as f:
            data = f.read()
        self.assertIn(b"X-Sieve-Redirected-From: <%s>\n" % USER.encode(), data)
        self.assertIn(b"\nbody of sm1\n", data)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
