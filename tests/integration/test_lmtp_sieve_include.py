"""Sieve `include :personal` (RFC 6609) at LMTP delivery: the active
script, put over ManageSieve, includes the user's other scripts, one of
them uploaded with sieve-connect (a real ManageSieve client); smtplib.LMTP
delivers and `stratusctl mailbox status` shows where each message went.
Covered: :personal, :once, :optional (a missing script skipped, a missing
one without it failing the run so the message is kept), `return`, global
variables shared across scripts, a script included by two others fetched
once, include loops, and the two Pigeonhole limits,
sieve_include_max_nesting_depth and sieve_include_max_includes, set low in
a second service set."""

import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import unittest

from stratus_harness import StratusTestCase, main
from test_managesieve import Sieve

USER = "user1@example.com"
PASSWORD = "pass1"

SIEVE_CONFIG = """mail_plugins = $mail_plugins notify mail_log
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
"""


def msg(subject):
    return (b"From: a@example.org\r\nTo: user1@example.com\r\n"
            b"Message-ID: <%s@example.org>\r\nSubject: %s\r\n\r\nbody of %s\r\n"
            % (subject, subject, subject))


class IncludeMixin:
    def put(self, scripts, active=None):
        """PUTSCRIPT each (name, source) over one ManageSieve session and
        SETACTIVE `active`."""
        c = Sieve(self.stratus.ports["sieve"])
        try:
            self.assertTrue(c.login(USER, PASSWORD).startswith(b"OK"))
            for name, src in scripts:
                st, _ = c.put(name, src)
                self.assertTrue(st.startswith(b"OK"), (name, st))
            if active is not None:
                st, _ = c.cmd('SETACTIVE "%s"\r\n' % active)
                self.assertTrue(st.startswith(b"OK"), st)
        finally:
            c.close()

    def sieve_connect_upload(self, name, src):
        w = tempfile.mkdtemp(prefix="sieve-include-")
        self.addCleanup(shutil.rmtree, w, True)
        local = os.path.join(w, name + ".sieve")
        with open(local, "w", newline="") as f:
            f.write(src)
        r, wfd = os.pipe()
        os.write(wfd, PASSWORD.encode() + b"\n")
        os.close(wfd)
        try:
            p = subprocess.run(
                ["sieve-connect", "--nosrv", "-s", "127.0.0.1", "-p",
                 str(self.stratus.ports["sieve"]), "-u", USER,
                 "--passwordfd", str(r), "--clearchan", "--authmech", "PLAIN",
                 "--upload", "--localsieve", local, "--remotesieve", name],
                capture_output=True, text=True, timeout=30, pass_fds=(r,))
        finally:
            os.close(r)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def deliver(self, data):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo("mx.example.org")
            l.mail("sender@example.org")
            l.rcpt(USER)
            l.data(data)

    def messages(self, box):
        r = self.stratus.ctl("mailbox", "status", USER, box, check=False)
        if r.returncode != 0:
            return None
        m = re.search(r"messages=(\d+)", r.stdout)
        return int(m.group(1)) if m else None

    def inbox(self):
        return self.messages("INBOX") or 0


class LmtpSieveIncludeTest(IncludeMixin, StratusTestCase):
    extra_config = SIEVE_CONFIG

    @unittest.skipUnless(shutil.which("sieve-connect"), "sieve-connect not installed")
    def test_1_personal_once_return_global(self):
        # "lists" through sieve-connect; it returns before its last line
        self.sieve_connect_upload("lists", (
            'require ["include", "variables", "fileinto", "mailbox"];\r\n'
            'global ["box", "seen"];\r\n'
            'if header :contains "subject" "list" {\r\n'
            '  fileinto :create "${box}"; set "seen" "yes"; return;\r\n'
            '}\r\n'
            'set "seen" "no";\r\n'))
        self.put([
            ("counter", 'require ["include", "variables"];\n'
                        'global "n"; set "n" "${n}x";\n'),
            ("main", 'require ["include", "variables", "fileinto", "mailbox"];\n'
                     'global ["box", "seen", "n"];\n'
                     'set "box" "Lists";\n'
                     'include :personal "lists";\n'
                     'include :once "counter";\n'
                     'include :once :personal "counter";\n'
                     'include :optional "no-such-script";\n'
                     'if string :is "${seen}" "yes" { fileinto :create "Seen"; }\n'
                     'if string :is "${n}" "x" { fileinto :create "Once"; }\n'),
        ], active="main")
        self.deliver(msg(b"a list post"))
        self.assertEqual(self.messages("Lists"), 1)
        self.assertEqual(self.messages("Seen"), 1)
        self.assertEqual(self.messages("Once"), 1)
        self.stratus.wait_log(r"included personal script no-such-script does not exist")
        # not a list: "lists" sets seen=no, so only Once; fileinto
        # cancelled the implicit keep
        inbox = self.inbox()
        self.deliver(msg(b"hello"))
        self.assertEqual(self.messages("Lists"), 1)
        self.assertEqual(self.messages("Seen"), 1)
        self.assertEqual(self.messages("Once"), 2)
        self.assertEqual(self.inbox(), inbox)
        # the included script's binary was cached beside its source
        # (svc-managesieve stores one at PUTSCRIPT, so it is read first)
        self.assertNotRegex(self.stratus.read_log(), r"does not compile")

    def test_2_missing_without_optional_keeps(self):
        # SETACTIVE refuses a script whose include is missing (as
        # Pigeonhole; test_managesieve_include_warnings), but a PUTSCRIPT
        # over the active script takes it with a warning: the way such a
        # script becomes the one delivery runs
        self.put([("strict", 'require "include";\n')], active="strict")
        self.put([("strict", 'require ["include", "fileinto", "mailbox"];\n'
                             'fileinto :create "Strict";\n'
                             'include :personal "not-there";\n')])
        inbox = self.inbox()
        self.deliver(msg(b"strict1"))
        self.assertEqual(self.inbox(), inbox + 1)
        self.assertIsNone(self.messages("Strict"))
        self.stratus.wait_log(r"execution of script strict failed: .*included "
                              r"script 'not-there' not found; keeping the message")

    def test_3_shared_and_updated_include(self):
        # two includes of one script name fetch it once; a PUTSCRIPT of the
        # included script changes the next delivery (no stale binary)
        self.put([
            ("part", 'require ["fileinto", "mailbox"];\n'
                     'fileinto :create "PartV1";\n'),
            ("uses", 'require ["include"];\ninclude "part";\ninclude "part";\n'),
        ], active="uses")
        self.deliver(msg(b"shared1"))
        self.assertEqual(self.messages("PartV1"), 1)
        self.put([("part", 'require ["fileinto", "mailbox"];\n'
                           'fileinto :create "PartV2";\n')])
        self.deliver(msg(b"shared2"))
        self.assertEqual(self.messages("PartV2"), 1)
        self.assertEqual(self.messages("PartV1"), 1)

    def test_4_loop_keeps(self):
        self.put([
            ("loop_a", 'require "include";\ninclude "loop_b";\n'),
            ("loop_b", 'require "include";\ninclude "loop_a";\n'),
        ], active="loop_a")
        inbox = self.inbox()
        self.deliver(msg(b"loop1"))
        self.assertEqual(self.inbox(), inbox + 1)
        self.stratus.wait_log(r"execution of script loop_a failed: .*include loop")


class LmtpSieveIncludeLimitsTest(IncludeMixin, StratusTestCase):
    extra_config = SIEVE_CONFIG + """plugin {
  sieve_include_max_nesting_depth = 2
  sieve_include_max_includes = 3
}
"""

    def test_1_nesting_depth(self):
        chain = [("d%d" % i, 'require "include";\ninclude "d%d";\n' % (i + 1))
                 for i in range(1, 3)]
        leaf = 'require ["fileinto", "mailbox"];\nfileinto :create "Deep";\n'
        self.put(chain + [("d3", leaf), ("d2ok", leaf.replace("Deep", "Deep2"))])
        # top -> d1 -> d2 -> d3: the third level is over 2
        self.put([("top", 'require "include";\ninclude "d1";\n')], active="top")
        inbox = self.inbox()
        self.deliver(msg(b"deep1"))
        self.assertEqual(self.inbox(), inbox + 1)
        self.assertIsNone(self.messages("Deep"))
        self.stratus.wait_log(r"execution of script top failed: .*includes nested "
                              r"deeper than 2")
        # top2 -> d1ok -> d2ok: two levels run
        self.put([("d1ok", 'require "include";\ninclude "d2ok";\n'),
                  ("top2", 'require "include";\ninclude "d1ok";\n')], active="top2")
        self.deliver(msg(b"deep2"))
        self.assertEqual(self.messages("Deep2"), 1)

    def test_2_max_includes(self):
        leaf = 'require ["fileinto", "mailbox"];\nfileinto :create "%s";\n'
        self.put([("i%d" % i, leaf % ("Inc%d" % i)) for i in range(1, 5)])
        three = 'require "include";\ninclude "i1";\ninclude "i2";\ninclude "i3";\n'
        self.put([("three", three)], active="three")
        self.deliver(msg(b"three1"))
        for i in range(1, 4):
            self.assertEqual(self.messages("Inc%d" % i), 1)
        # a fourth include, even one that never runs, is over the limit:
        # the script is refused as a whole, as Pigeonhole's compiler does
        self.put([("four", three + 'if false { include "i4"; }\n')], active="four")
        inbox = self.inbox()
        self.deliver(msg(b"four1"))
        self.assertEqual(self.inbox(), inbox + 1)
        self.assertEqual(self.messages("Inc1"), 1)
        self.assertIsNone(self.messages("Inc4"))
        self.stratus.wait_log(r"sieve: script four includes more than 3 scripts "
                              r"\(sieve_include_max_includes\); keeping the message")

    def test_3_no_warning_for_the_limits(self):
        log = self.stratus.read_log()
        self.assertNotRegex(log, r"setting \S*sieve_include_max_\S* is accepted "
                                 r"but not implemented")


if __name__ == "__main__":
    main()
