"""Global Sieve scripts for `include :global` (issue 17 part 3):
`sieve_global` (Pigeonhole 0.4's name; `sieve_global_dir` is the older one)
names the directory whose NAME.sieve a script includes with
`include :global "NAME"`. A user's personal script (put and activated with
stratusctl sieve, as through ManageSieve) and a sieve_before script both
include from it; real LMTP deliveries show which script ran. Both the
directory's files and the setting change live on reload: the next
delivery runs the new script, and the reload log names the setting as
applied, not as needing a restart. A missing global script fails the
run (implicit keep into INBOX, logged); `:optional` skips it."""

import os
import re
import smtplib
import unittest

from stratus_harness import SANITIZER_RE, Stratus, main

USER = "user1@example.com"
OTHER = "user2@example.com"


class SieveGlobalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stratus = st = Stratus()
        d = st.dir
        cls.dir_a = os.path.join(d, "global-a")
        cls.dir_b = os.path.join(d, "global-b")
        os.mkdir(cls.dir_a)
        os.mkdir(cls.dir_b)
        cls.put(cls.dir_a, "route", 'require "fileinto";\nfileinto "RouteA";\n')
        cls.put(cls.dir_a, "tag", 'require "fileinto";\n'
                'if header :contains "subject" "tagme" { fileinto "Tagged"; stop; }\n')
        cls.put(cls.dir_b, "route", 'require "fileinto";\nfileinto "RouteB";\n')
        cls.put(cls.dir_b, "tag", "")
        cls.before = os.path.join(d, "before.sieve")
        with open(cls.before, "w") as f:
            f.write('require "include";\ninclude :global "tag";\n')
        with open(st.config) as f:
            cls.base = f.read()
        cls.write('sieve_global = file:%s' % cls.dir_a)
        st.start()
        # user1's personal script includes a global one; user2 has a
        # script that includes one that does not exist
        personal = os.path.join(d, "personal.sieve")
        with open(personal, "w") as f:
            f.write('require "include";\ninclude :global "route";\n')
        st.ctl("sieve", "put", "-a", "-u", USER, "main", personal)
        missing = os.path.join(d, "missing.sieve")
        with open(missing, "w") as f:
            f.write('require ["include", "fileinto"];\ninclude :optional :global "nothing";\n'
                    'include :global "nothing-either";\nfileinto "NeverHere";\n')
        st.ctl("sieve", "put", "-a", "-u", OTHER, "main", missing)

    @staticmethod
    def put(directory, name, text):
        with open(os.path.join(directory, name + ".sieve"), "w") as f:
            f.write(text)

    @classmethod
    def write(cls, setting):
        with open(cls.stratus.config, "w") as f:
            f.write(cls.base + f"""
lda_mailbox_autocreate = yes
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve_before = {cls.before}
  {setting}
}}
""")

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def deliver(self, rcpt, subject):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.sendmail("a@example.net", [rcpt],
                       "Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nbody\r\n"
                       % (subject, subject))

    def messages(self, user, box):
        r = self.stratus.ctl("mailbox", "status", "-u", user, "messages", box, check=False)
        m = re.search(r"messages=(\d+)", r.stdout)
        return int(m.group(1)) if m else 0

    def reload(self, setting):
        at = len(self.stratus.read_log())
        self.write(setting)
        self.stratus.ctl("reload")
        self.stratus.wait_log(r"lmtp: Info: reload: Sieve settings and global scripts re-read",
                              start_at=at)
        return self.stratus.read_log()[at:]

    def test_1_personal_and_before_include_global(self):
        log = self.stratus.read_log()
        self.assertNotRegex(log, r"sieve_global is accepted but not implemented")
        self.deliver(USER, "plain")
        self.assertEqual(self.messages(USER, "RouteA"), 1)
        # sieve_before's include :global "tag" files it and stops
        self.deliver(USER, "please tagme")
        self.assertEqual(self.messages(USER, "Tagged"), 1)
        self.assertEqual(self.messages(USER, "RouteA"), 1)

    def test_2_missing_global_script_keeps(self):
        at = len(self.stratus.read_log())
        self.deliver(OTHER, "lost")
        self.assertEqual(self.messages(OTHER, "INBOX"), 1)
        self.assertEqual(self.messages(OTHER, "NeverHere"), 0)
        self.stratus.wait_log(r"included script 'nothing-either' not found", start_at=at)
        self.assertNotRegex(self.stratus.read_log()[at:], r"'nothing' not found")

    def test_3_directory_contents_change_on_reload(self):
        self.put(self.dir_a, "route", 'require "fileinto";\nfileinto "RouteA2";\n')
        self.reload('sieve_global = file:%s' % self.dir_a)
        self.deliver(USER, "after-edit")
        self.assertEqual(self.messages(USER, "RouteA2"), 1)
        self.assertEqual(self.messages(USER, "RouteA"), 1)

    def test_4_setting_changes_live_old_name_too(self):
        log = self.reload('sieve_global_dir = %s' % self.dir_b)
        self.assertRegex(log, r"lmtp: Info: reload: applied:[^\n]*plugin /sieve_global")
        self.assertNotRegex(log, r"need a restart of stratus-lmtp[^\n]*sieve_global")
        self.deliver(USER, "dir-b tagme")
        self.assertEqual(self.messages(USER, "RouteB"), 1)
        self.assertEqual(self.messages(USER, "Tagged"), 1)   # dir b's tag is empty


if __name__ == "__main__":
    main()
