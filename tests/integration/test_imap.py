"""svc-imap end to end with Python's imaplib and raw sockets: greeting,
CAPABILITY/NOOP/LOGOUT/ID/ENABLE/NAMESPACE, LOGIN and AUTHENTICATE through
svc-auth, and hostile input (over-long lines, huge literals, NULs, deep
parentheses, commands before login) that must get a clear BAD/NO/BYE while
the service and the other connections carry on."""

import base64
import imaplib
import re
import socket
import time
import unittest

from stratus_harness import StratusTestCase, main


class Raw:
    """A raw IMAP connection for byte-exact checks."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.settimeout(10)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until_tagged(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def closed(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


class ImapEngineTest(StratusTestCase):
    extra_config = """
imap_id_send = name * support-url https://example.com/
namespace inbox {
  prefix =
  separator = /
  inbox = yes
}
"""

    def raw(self):
        return Raw(self.stratus.ports["imap"])

    def test_greeting_has_capabilities(self):
        r = self.raw()
        self.assertRegex(r.greeting, rb"^\* OK \[CAPABILITY IMAP4rev1 [^\]]*"
                                     rb"AUTH=PLAIN AUTH=LOGIN\] Dovecot ready\.$")
        self.assertIn(b" SASL-IR ", r.greeting)
        self.assertIn(b" LITERAL+ ", r.greeting)
        r.close()

    def test_capability_noop_logout(self):
        r = self.raw()
        r.send(b"a1 CAPABILITY\r\n")
        lines = r.until_tagged(b"a1")
        self.assertTrue(lines[0].startswith(b"* CAPABILITY IMAP4rev1 "))
        self.assertEqual(lines[1], b"a1 OK Pre-login capabilities listed, "
                                   b"post-login capabilities have more.")
        r.send(b"a2 noop\r\n")
        self.assertEqual(r.until_tagged(b"a2"), [b"a2 OK NOOP completed."])
        r.send(b"a3 LOGOUT\r\n")
        self.assertEqual(r.until_tagged(b"a3"),
                         [b"* BYE Logging out", b"a3 OK Logout completed."])
        self.assertTrue(r.closed())

    def test_imaplib_capability(self):
        with imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"]) as m:
            self.assertIn("IMAP4REV1", m.capabilities)
            self.assertIn("AUTH=PLAIN", m.capabilities)
            typ, _ = m.noop()
            self.assertEqual(typ, "OK")

    def test_id(self):
        r = self.raw()
        r.send(b'i1 ID ("name" "imaplib" "version" "1")\r\n')
        self.assertEqual(r.until_tagged(b"i1"), [
            b'* ID ("name" "Stratus" "support-url" "https://example.com/")',
            b"i1 OK ID completed."])
        r.send(b"i2 ID NIL\r\n")
        self.assertEqual(r.until_tagged(b"i2")[1], b"i2 OK ID completed.")
        r.send(b'i3 ID ("name")\r\n')
        self.assertTrue(r.until_tagged(b"i3")[0].startswith(b"i3 BAD "))
        r.close()

    def test_commands_before_login(self):
        r = self.raw()
        for cmd in (b"SELECT INBOX", b"NAMESPACE", b"ENABLE CONDSTORE",
                    b"LIST \"\" *", b"FETCH 1 FLAGS"):
            r.send(b"x " + cmd + b"\r\n")
            line = r.until_tagged(b"x")[-1]
            self.assertRegex(line, rb"^x (BAD|NO) ")
        r.send(b"y NOOP\r\n")
        self.assertEqual(r.until_tagged(b"y"), [b"y OK NOOP completed."])
        r.close()

    def test_unknown_command_and_bad_tag(self):
        r = self.raw()
        r.send(b"t1 FROBNICATE\r\n")
        self.assertEqual(r.until_tagged(b"t1"),
                         [b"t1 BAD Error in IMAP command FROBNICATE: Unknown command."])
        r.send(b"+bad NOOP\r\n")
        self.assertEqual(r.line(), b"* BAD Error in IMAP command received by server.")
        r.send(b"t2 NOOP\r\n")
        self.assertEqual(r.until_tagged(b"t2"), [b"t2 OK NOOP completed."])
        r.close()

    def test_too_long_line_then_carry_on(self):
        r = self.raw()
        r.send(b"long NOOP " + b"x" * 200000 + b"\r\n")
        self.assertEqual(r.line(), b"long BAD Too long argument.")
        r.send(b"n NOOP\r\n")
        self.assertEqual(r.until_tagged(b"n"), [b"n OK NOOP completed."])
        r.close()

    def test_huge_literal_refused(self):
        r = self.raw()
        r.send(b"h1 LOGIN {4294967296}\r\n")
        self.assertEqual(r.line(), b"h1 BAD Invalid literal size")
        r.send(b"h2 LOGIN {100000}\r\n")
        self.assertEqual(r.line(), b"h2 BAD [TOOBIG] Literal too large")
        r.send(b"h3 NOOP\r\n")
        self.assertEqual(r.until_tagged(b"h3"), [b"h3 OK NOOP completed."])
        # A non-synchronising one cannot be skipped: BYE.
        r.send(b"h4 LOGIN {4294967296+}\r\n")
        self.assertEqual(r.line(), b"h4 BAD Invalid literal size")
        self.assertEqual(r.line(), b"* BYE Invalid literal size")
        self.assertTrue(r.closed())

    def test_sync_literal_gets_continuation(self):
        r = self.raw()
        r.send(b"l1 ID ({4}\r\n")
        self.assertEqual(r.line(), b"+ OK")
        r.send(b'name "x")\r\n')
        self.assertEqual(r.until_tagged(b"l1")[-1], b"l1 OK ID completed.")
        r.send(b'l2 ID ({4+}\r\nname "x")\r\n')
        self.assertEqual(r.until_tagged(b"l2")[-1], b"l2 OK ID completed.")
        r.close()

    def test_nul_and_deep_parens(self):
        r = self.raw()
        r.send(b"z1 ID (\"na\x00me\" NIL)\r\n")
        self.assertRegex(r.line(), rb"^z1 BAD .*NUL")
        r.send(b"z2 ID " + b"(" * 10000 + b")" * 10000 + b"\r\n")
        self.assertRegex(r.line(), rb"^z2 BAD .*(nesting|Too long)")
        r.send(b"z3 NOOP\r\n")
        self.assertEqual(r.until_tagged(b"z3"), [b"z3 OK NOOP completed."])
        r.close()

    def test_pipelined_commands(self):
        r = self.raw()
        r.send(b"p1 NOOP\r\np2 CAPABILITY\r\np3 ID NIL\r\np4 NOOP\r\n")
        lines = r.until_tagged(b"p4")
        tags = [l.split(b" ")[0] for l in lines if not l.startswith(b"*")]
        self.assertEqual(tags, [b"p1", b"p2", b"p3", b"p4"])
        r.close()

    def test_slow_client_does_not_block_others(self):
        slow = self.raw()
        slow.send(b"s1 NOO")          # half a command, never finished
        fast = self.raw()
        fast.send(b"f1 NOOP\r\n")
        self.assertEqual(fast.until_tagged(b"f1"), [b"f1 OK NOOP completed."])
        fast.close()
        slow.close()

    def test_many_connections(self):
        conns = [self.raw() for _ in range(200)]
        for i, c in enumerate(conns):
            c.send(b"m%d NOOP\r\n" % i)
        for i, c in enumerate(conns):
            self.assertEqual(c.until_tagged(b"m%d" % i)[-1], b"m%d OK NOOP completed." % i)
        for c in conns:
            c.close()

    # ---- login, through svc-auth ----

    def login_raw(self, user=b"user1@example.com", password=b"pass1"):
        r = self.raw()
        r.send(b'L LOGIN "' + user + b'" "' + password + b'"\r\n')
        line = r.until_tagged(b"L")[-1]
        if b"[UNAVAILABLE]" in line:
            r.close()
            self.skipTest("svc-auth does not answer Sasl yet")
        return r, line

    def test_login_and_post_login_commands(self):
        r, line = self.login_raw()
        self.assertRegex(line, rb"^L OK \[CAPABILITY IMAP4rev1 .*NAMESPACE.*\] Logged in$")
        r.send(b"n1 NAMESPACE\r\n")
        self.assertEqual(r.until_tagged(b"n1"),
                         [b'* NAMESPACE (("" "/")) NIL NIL', b"n1 OK Namespace completed."])
        r.send(b"e1 ENABLE CONDSTORE\r\n")
        self.assertEqual(r.until_tagged(b"e1"), [b"* ENABLED CONDSTORE", b"e1 OK Enabled."])
        r.send(b"c1 CAPABILITY\r\n")
        self.assertEqual(r.until_tagged(b"c1")[-1], b"c1 OK Capability completed.")
        r.send(b"x LOGIN a b\r\n")
        self.assertRegex(r.until_tagged(b"x")[-1], rb"^x BAD ")
        r.send(b"o LOGOUT\r\n")
        self.assertEqual(r.until_tagged(b"o")[-1], b"o OK Logout completed.")
        r.close()

    def test_login_failure(self):
        r, line = self.login_raw(password=b"wrong")
        self.assertEqual(line, b"L NO [AUTHENTICATIONFAILED] Authentication failed.")
        r.close()

    def test_imaplib_login(self):
        with imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"]) as m:
            try:
                typ, _ = m.login("user2@example.com", "pass2")
            except imaplib.IMAP4.error as e:
                if "UNAVAILABLE" in str(e):
                    self.skipTest("svc-auth does not answer Sasl yet")
                raise
            self.assertEqual(typ, "OK")
            typ, data = m.capability()
            self.assertIn(b"NAMESPACE", data[0].split())
            m.logout()

    def test_authenticate_plain_with_sasl_ir(self):
        r = self.raw()
        ir = base64.b64encode(b"\0user1@example.com\0pass1")
        r.send(b"A AUTHENTICATE PLAIN " + ir + b"\r\n")
        line = r.until_tagged(b"A")[-1]
        if b"[UNAVAILABLE]" in line:
            self.skipTest("svc-auth does not answer Sasl yet")
        self.assertRegex(line, rb"^A OK \[CAPABILITY .*\] Logged in$")
        r.close()

    def test_authenticate_login_multistep(self):
        with imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"]) as m:
            steps = iter([b"user1@example.com", b"pass1"])
            try:
                typ, _ = m.authenticate("LOGIN", lambda challenge: next(steps))
            except imaplib.IMAP4.error as e:
                if "UNAVAILABLE" in str(e):
                    self.skipTest("svc-auth does not answer Sasl yet")
                raise
            self.assertEqual(typ, "OK")

    def test_authenticate_abort_and_bad_mech(self):
        r = self.raw()
        r.send(b"B AUTHENTICATE CRAM-MD5\r\n")
        self.assertEqual(r.line(), b"B NO Unsupported authentication mechanism.")
        r.send(b"C AUTHENTICATE PLAIN !!!\r\n")
        self.assertEqual(r.line(), b"C BAD Invalid base64 data in initial response")
        r.close()


class ImapSettingsTest(StratusTestCase):
    extra_config = """
imap_capability = +XSTRATUS
imap_literal_minus = yes
login_greeting = Welcome here.
imap_client_workarounds = tb-extra-mailbox-sep tb-lsub-flags
imap_max_line_length = 2k
namespace inbox {
  separator = .
  inbox = yes
}
"""

    def test_greeting_and_literal_minus(self):
        r = Raw(self.stratus.ports["imap"])
        self.assertTrue(r.greeting.endswith(b"] Welcome here."))
        self.assertIn(b" LITERAL- ", r.greeting)
        r.send(b"a ID ({5000+}\r\n")
        self.assertEqual(r.line(), b"a BAD [TOOBIG] Non-synchronizing literal too large")
        self.assertRegex(r.line(), rb"^\* BYE ")
        r.close()

    def test_max_line_length(self):
        r = Raw(self.stratus.ports["imap"])
        r.send(b"a NOOP " + b"x" * 1500 + b"\r\n")
        self.assertEqual(r.line(), b"a OK NOOP completed.")
        r.send(b"b NOOP " + b"x" * 2500 + b"\r\n")
        self.assertEqual(r.line(), b"b BAD Too long argument.")
        r.close()

    def test_no_not_implemented_warning_for_honoured_settings(self):
        log = self.stratus.read_log()
        for name in ("imap_capability", "imap_literal_minus", "imap_max_line_length",
                     "login_greeting", "namespace/separator"):
            self.assertNotRegex(log, r"imap: Warning: .*setting %s is accepted but not "
                                     r"implemented" % re.escape(name))


if __name__ == "__main__":
    main()
