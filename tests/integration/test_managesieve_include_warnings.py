"""ManageSieve and `include` of a script that does not exist (issue 17,
RFC 5804 + RFC 6609), as Pigeonhole behaves: PUTSCRIPT and CHECKSCRIPT
accept a script whose non-:optional include names a missing :personal
script (not among the user's scripts) or a missing :global one (not in
sieve_global), and answer OK (WARNINGS) with a line per such include
naming it (RFC 5804 1.3's WARNINGS response code); an :optional include
of a missing script is fine silently. SETACTIVE refuses such a script
(NO, naming the include) until the included script exists, and a
PUTSCRIPT over the script already active takes it with the warning.
Driven with raw protocol bytes and with sieve-connect (a real client)."""

import os
import shutil
import subprocess
import tempfile
import unittest

from stratus_harness import StratusTestCase, main
from test_managesieve import Sieve

USER = "user1@example.com"
PASSWORD = "pass1"
GLOBAL_DIR = tempfile.mkdtemp(prefix="stratus-sieve-global-")
with open(os.path.join(GLOBAL_DIR, "known.sieve"), "w") as f:
    f.write('require "fileinto";\nfileinto "Known";\n')


def tearDownModule():
    shutil.rmtree(GLOBAL_DIR, ignore_errors=True)


def warning(line, kind, name):
    return (b"line %d: warning: included %s script '%s' does not exist "
            b"(accepted now; delivery fails at this include until it exists)."
            % (line, kind, name))


def error(line, kind, name):
    return (b"line %d: error: included %s script '%s' does not exist; the "
            b"script cannot be active until it does." % (line, kind, name))


MISSING = b'require "include";\r\ninclude :personal "missing1";\r\n'


class ManageSieveIncludeWarningsTest(StratusTestCase):
    extra_config = """plugin {
  sieve_global = file:%s
}
""" % GLOBAL_DIR

    def connect(self):
        c = Sieve(self.stratus.ports["sieve"])
        self.addCleanup(c.close)
        self.assertTrue(c.login(USER, PASSWORD).startswith(b"OK"))
        return c

    def raw(self, c, cmd, script):
        """cmd ("PUTSCRIPT \\"x\\"" or "CHECKSCRIPT") with script as a
        literal; the status line exactly as sent (a literal kept)."""
        c.s.sendall(cmd + b" {%d+}\r\n" % len(script) + script + b"\r\n")
        line = c.line()
        if line.endswith(b"}"):
            n = int(line[line.rindex(b"{") + 1:-1])
            line += b"\r\n" + c.read_literal(n)
        return line

    def listed(self, c):
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"OK"), st)
        return lines

    def test_1_putscript_missing_personal_warns_and_stores(self):
        c = self.connect()
        st = self.raw(c, b'PUTSCRIPT "w1"', MISSING)
        self.assertEqual(st, b'OK (WARNINGS) "' + warning(2, b"personal", b"missing1") + b'"')
        self.assertIn(b'"w1"', self.listed(c))
        st, lines = c.cmd('GETSCRIPT "w1"\r\n')
        self.assertEqual(lines, [MISSING])

    def test_2_checkscript_warns_the_same_and_stores_nothing(self):
        c = self.connect()
        before = self.listed(c)
        st = self.raw(c, b"CHECKSCRIPT", MISSING)
        self.assertEqual(st, b'OK (WARNINGS) "' + warning(2, b"personal", b"missing1") + b'"')
        self.assertEqual(self.listed(c), before)

    def test_3_optional_existing_and_known_global_are_silent(self):
        c = self.connect()
        self.assertEqual(self.raw(c, b'PUTSCRIPT "part"', b'keep;\r\n'),
                         b'OK "PUTSCRIPT completed."')
        script = (b'require "include";\r\ninclude :optional "nowhere";\r\n'
                  b'include :optional :global "nowhere-global";\r\n'
                  b'include "part";\r\ninclude :global "known";\r\n')
        self.assertEqual(self.raw(c, b'PUTSCRIPT "quiet"', script),
                         b'OK "PUTSCRIPT completed."')
        self.assertEqual(self.raw(c, b"CHECKSCRIPT", script), b'OK "Script is valid."')
        st, _ = c.cmd('SETACTIVE "quiet"\r\n')
        self.assertEqual(st, b'OK "Setactive completed."')

    def test_4_two_missing_as_a_literal_global_too(self):
        c = self.connect()
        script = (b'require "include";\r\nif true {\r\n  include "gone";\r\n}\r\n'
                  b'include :global "nope";\r\n')
        text = (warning(3, b"personal", b"gone") + b"\n" +
                warning(5, b"global", b"nope") + b"\n")
        expect = b"OK (WARNINGS) {%d}\r\n" % len(text) + text
        self.assertEqual(self.raw(c, b"CHECKSCRIPT", script), expect)
        self.assertEqual(self.raw(c, b'PUTSCRIPT "two"', script), expect)

    def test_5_setactive_refuses_until_the_include_exists(self):
        c = self.connect()
        self.assertTrue(self.raw(c, b'PUTSCRIPT "w5"', MISSING).startswith(b"OK (WARNINGS)"))
        st, _ = c.cmd('SETACTIVE "w5"\r\n')
        self.assertEqual(st, b'NO "' + error(2, b"personal", b"missing1") + b'"')
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertNotIn(b'"w5" ACTIVE', lines)
        self.assertEqual(self.raw(c, b'PUTSCRIPT "missing1"', b"keep;\r\n"),
                         b'OK "PUTSCRIPT completed."')
        st, _ = c.cmd('SETACTIVE "w5"\r\n')
        self.assertEqual(st, b'OK "Setactive completed."')
        # the active script replaced by one with a missing include: taken
        # with the warning, and still active (delivery then keeps mail)
        st = self.raw(c, b'PUTSCRIPT "w5"', b'require "include";\r\ninclude "later";\r\n')
        self.assertEqual(st, b'OK (WARNINGS) "' + warning(2, b"personal", b"later") + b'"')
        self.assertIn(b'"w5" ACTIVE', self.listed(c))
        # SETACTIVE of the script already active does not refuse it
        st, _ = c.cmd('SETACTIVE "w5"\r\n')
        self.assertTrue(st.startswith(b"OK"), st)

    def sieve_connect(self, *args):
        r, wfd = os.pipe()
        os.write(wfd, PASSWORD.encode() + b"\n")
        os.close(wfd)
        try:
            return subprocess.run(
                ["sieve-connect", "--debug", "--nosrv", "-s", "127.0.0.1", "-p",
                 str(self.stratus.ports["sieve"]), "-u", USER, "--passwordfd", str(r),
                 "--clearchan", "--authmech", "PLAIN", *args],
                capture_output=True, text=True, timeout=30, pass_fds=(r,))
        finally:
            os.close(r)

    @unittest.skipUnless(shutil.which("sieve-connect"), "sieve-connect not installed")
    def test_6_sieve_connect(self):
        w = tempfile.mkdtemp(prefix="sieve-include-warn-")
        self.addCleanup(shutil.rmtree, w, True)
        local = os.path.join(w, "sc.sieve")
        with open(local, "w", newline="") as f:
            f.write('require "include";\r\ninclude :personal "sc-missing";\r\n')
        want = warning(2, b"personal", b"sc-missing").decode()
        p = self.sieve_connect("--checkscript", "--localsieve", local)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('OK (WARNINGS) "%s"' % want, p.stderr)
        p = self.sieve_connect("--upload", "--localsieve", local, "--remotesieve", "sc")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('OK (WARNINGS) "%s"' % want, p.stderr)
        p = self.sieve_connect("--list")
        self.assertIn('"sc"', p.stdout.split())
        p = self.sieve_connect("--activate", "--remotesieve", "sc")
        self.assertIn("SETACTIVE(sc) failed: NO \"%s\""
                      % error(2, b"personal", b"sc-missing").decode(), p.stderr)
        self.assertNotIn(b'"sc" ACTIVE', self.listed(self.connect()))


if __name__ == "__main__":
    main()
