"""svc-managesieve end to end over a raw socket (RFC 5804): greeting and
CAPABILITY, AUTHENTICATE PLAIN/LOGIN through svc-auth (responses quoted or
as literals), every script command against svc-blob storage, quotas,
compile errors with positions, hostile input (over-long lines and
literals, bad commands), `stratusctl sieve` on the same storage both
ways, XCLIENT from login_trusted_networks and mail_max_userip_connections
through svc-auth. ManageSieveClientTest drives the service with Debian's
sieve-connect (when installed) and checks that a script put over
ManageSieve files the next LMTP delivery into a folder IMAP shows."""

import base64
import imaplib
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from stratus_harness import StratusTestCase, main


class Sieve:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.settimeout(10)
        self.buf = b""
        self.greeting = self.response()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_literal(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def response(self):
        """Lines up to OK/NO/BYE; returns (status_line, lines)."""
        lines = []
        while True:
            l = self.line()
            if l.startswith((b"OK", b"NO", b"BYE")):
                if l.endswith(b"}"):
                    n = int(l[l.rindex(b"{") + 1:-1].rstrip(b"+"))
                    l = l[:l.rindex(b"{")] + b'"' + self.read_literal(n) + b'"'
                return l, lines
            if l.endswith(b"}") and b"{" in l:
                n = int(l[l.rindex(b"{") + 1:-1].rstrip(b"+"))
                lines.append(self.read_literal(n))
            else:
                lines.append(l)

    def cmd(self, text):
        self.s.sendall(text if isinstance(text, bytes) else text.encode())
        return self.response()

    def login(self, user="user1@example.com", password="pass1"):
        ir = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        st, _ = self.cmd(b'AUTHENTICATE "PLAIN" "' + ir + b'"\r\n')
        return st

    def put(self, name, script):
        data = script.encode()
        return self.cmd(b'PUTSCRIPT "%s" {%d+}\r\n%s\r\n' % (name.encode(), len(data), data))

    def close(self):
        self.s.close()


class ManageSieveTest(StratusTestCase):
    extra_config = """
plugin {
  sieve_quota_max_scripts = 3
  sieve_quota_max_storage = 10k
}
"""

    def connect(self):
        c = Sieve(self.stratus.ports["sieve"])
        self.addCleanup(c.close)
        return c

    def test_greeting_and_capability(self):
        c = self.connect()
        st, caps = c.greeting
        self.assertTrue(st.startswith(b"OK"), st)
        text = b"\n".join(caps)
        self.assertIn(b'"IMPLEMENTATION" "Dovecot Pigeonhole"', text)
        self.assertIn(b'"SASL" "PLAIN LOGIN"', text)
        self.assertIn(b'"VERSION" "1.0"', text)
        self.assertNotIn(b"STARTTLS", text)
        self.assertRegex(text, rb'"SIEVE" "[^"]*fileinto[^"]*vacation')
        st, caps2 = c.cmd("CAPABILITY\r\n")
        self.assertTrue(st.startswith(b"OK"))
        self.assertEqual(caps, caps2)

    def test_noop_and_logout(self):
        c = self.connect()
        st, _ = c.cmd('NOOP "tag1"\r\n')
        self.assertEqual(st, b'OK (TAG "tag1") "Done"')
        st, _ = c.cmd('NOOP\r\n')
        self.assertEqual(st, b'OK "NOOP Completed"')
        st, _ = c.cmd("LOGOUT\r\n")
        self.assertTrue(st.startswith(b"OK"))

    def test_commands_need_auth(self):
        c = self.connect()
        st, _ = c.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"NO"), st)

    def test_authenticate_plain_bad_password(self):
        c = self.connect()
        self.assertTrue(c.login(password="wrong").startswith(b"NO"))
        self.assertTrue(c.login().startswith(b"OK"))

    def test_authenticate_login_continuation(self):
        c = self.connect()
        c.s.sendall(b'AUTHENTICATE "LOGIN"\r\n')
        self.assertTrue(c.line().startswith(b'"'))
        c.s.sendall(b'"' + base64.b64encode(b"user1@example.com") + b'"\r\n')
        self.assertTrue(c.line().startswith(b'"'))
        c.s.sendall(b'"' + base64.b64encode(b"pass1") + b'"\r\n')
        st, _ = c.response()
        self.assertTrue(st.startswith(b"OK"), st)
        st, _ = c.cmd("UNAUTHENTICATE\r\n")
        self.assertTrue(st.startswith(b"OK"))
        st, _ = c.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"NO"))

    def test_script_lifecycle(self):
        c = self.connect()
        self.assertTrue(c.login("user2@example.com", "pass2").startswith(b"OK"))
        script = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "X"; }\r\n'
        st, _ = c.put("first", script)
        self.assertTrue(st.startswith(b"OK"), st)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(lines, [b'"first"'])
        st, _ = c.cmd('SETACTIVE "first"\r\n')
        self.assertTrue(st.startswith(b"OK"), st)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(lines, [b'"first" ACTIVE'])
        st, lines = c.cmd('GETSCRIPT "first"\r\n')
        self.assertTrue(st.startswith(b"OK"))
        self.assertEqual(lines, [script.encode()])
        st, _ = c.cmd('DELETESCRIPT "first"\r\n')
        self.assertTrue(st.startswith(b"NO (ACTIVE)"), st)
        st, _ = c.cmd('RENAMESCRIPT "first" "second"\r\n')
        self.assertTrue(st.startswith(b"OK"), st)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(lines, [b'"second" ACTIVE'])
        st, _ = c.cmd('GETSCRIPT "first"\r\n')
        self.assertTrue(st.startswith(b"NO (NONEXISTENT)"), st)
        st, _ = c.cmd('SETACTIVE ""\r\n')
        self.assertTrue(st.startswith(b"OK"), st)
        st, _ = c.cmd('DELETESCRIPT "second"\r\n')
        self.assertTrue(st.startswith(b"OK"), st)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(lines, [])
        st, _ = c.cmd('DELETESCRIPT "second"\r\n')
        self.assertTrue(st.startswith(b"NO (NONEXISTENT)"), st)
        st, _ = c.cmd('SETACTIVE "nothere"\r\n')
        self.assertTrue(st.startswith(b"NO (NONEXISTENT)"), st)

    def test_putscript_compile_error_has_position(self):
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        st, _ = c.put("bad", 'keep;\r\n  frobnicate;\r\n')
        self.assertTrue(st.startswith(b"NO"), st)
        self.assertIn(b"line 2, column 3: unknown command 'frobnicate'", st)
        st, _ = c.put("bad2", 'require "nosuch";\r\n')
        self.assertIn(b"line 1, column 9: unknown Sieve extension 'nosuch'", st)
        st, _ = c.cmd(b'CHECKSCRIPT {5+}\r\nkeep;\r\n')
        self.assertTrue(st.startswith(b"OK"), st)
        st, _ = c.cmd(b'CHECKSCRIPT "fileinto \\"x\\";"\r\n')
        self.assertTrue(st.startswith(b"NO"), st)
        self.assertIn(b"line 1, column 1", st)

    def test_quota(self):
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        st, _ = c.cmd('HAVESPACE "a" 100\r\n')
        self.assertTrue(st.startswith(b"OK"), st)
        st, _ = c.cmd('HAVESPACE "a" 20000\r\n')
        self.assertTrue(st.startswith(b"NO (QUOTA/MAXSTORAGE)"), st)
        for n in ("q1", "q2", "q3"):
            st, _ = c.put(n, "keep;")
            self.assertTrue(st.startswith(b"OK"), st)
        st, _ = c.put("q4", "keep;")
        self.assertTrue(st.startswith(b"NO (QUOTA/MAXSCRIPTS)"), st)
        st, _ = c.put("q1", "discard;")     # replacing is fine
        self.assertTrue(st.startswith(b"OK"), st)
        st, _ = c.cmd('HAVESPACE "q5" 10\r\n')
        self.assertTrue(st.startswith(b"NO (QUOTA/MAXSCRIPTS)"), st)
        for n in ("q1", "q2", "q3"):
            c.cmd('DELETESCRIPT "%s"\r\n' % n)

    def test_hostile_input(self):
        c = self.connect()
        c.s.sendall(b"NOOP " + b"a" * 70000 + b"\r\n")
        st, _ = c.response()
        self.assertTrue(st.startswith(b"BYE"), st)
        c2 = self.connect()
        self.assertTrue(c2.login().startswith(b"OK"))
        c2.s.sendall(b'PUTSCRIPT "big" {99999999+}\r\n')
        st, _ = c2.response()
        self.assertTrue(st.startswith(b"BYE"), st)
        c3 = self.connect()
        st, _ = c3.cmd("FROBNICATE\r\n")
        self.assertTrue(st.startswith(b"NO"), st)
        st, _ = c3.cmd('"bad" command\r\n')
        self.assertTrue(st.startswith(b"NO"), st)
        st, _ = c3.cmd("NOOP\r\n")
        self.assertTrue(st.startswith(b"OK"))

    def test_invalid_script_names(self):
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        for name in ("", ".active", "a/b", "x.svbin"):
            st, _ = c.put(name, "keep;")
            self.assertTrue(st.startswith(b"NO"), (name, st))




class ManageSieveMoreTest(StratusTestCase):
    """Pigeonhole's texts, SASL responses as literals, bad commands, and
    `stratusctl sieve` against what ManageSieve sees."""

    def connect(self):
        c = Sieve(self.stratus.ports["sieve"])
        self.addCleanup(c.close)
        return c

    def test_sasl_continuation_as_literal(self):
        c = self.connect()
        c.s.sendall(b'AUTHENTICATE "LOGIN"\r\n')
        self.assertTrue(c.line().startswith(b'"'))
        u = base64.b64encode(b"user1@example.com")
        c.s.sendall(b"{%d+}\r\n%s\r\n" % (len(u), u))
        self.assertTrue(c.line().startswith(b'"'))
        p = base64.b64encode(b"pass1")
        c.s.sendall(b"{%d+}\r\n%s\r\n" % (len(p), p))
        st, _ = c.response()
        self.assertEqual(st, b'OK "Logged in."')

    def test_sasl_abort_and_empty_response(self):
        c = self.connect()
        c.s.sendall(b'AUTHENTICATE "PLAIN"\r\n')
        self.assertTrue(c.line().startswith(b'"'))
        st, _ = c.cmd(b'"*"\r\n')
        self.assertEqual(st, b'NO "Authentication aborted by client."')
        c.s.sendall(b'AUTHENTICATE "PLAIN"\r\n')
        self.assertTrue(c.line().startswith(b'"'))
        st, _ = c.cmd(b'\r\n')
        self.assertEqual(st, b'NO "Received empty AUTHENTICATE client response line."')
        self.assertTrue(c.login().startswith(b"OK"))

    def test_bad_commands_end_the_session(self):
        c = self.connect()
        st, _ = c.cmd("FROB\r\n")
        self.assertEqual(st, b'NO "Unknown command."')
        c.cmd("FROB\r\n")
        st, _ = c.cmd("FROB\r\n")
        self.assertEqual(st, b'BYE "Too many invalid MANAGESIEVE commands."')

    def test_xclient_refused_when_untrusted(self):
        c = self.connect()
        self.assertNotIn(b"XCLIENT", b"\n".join(c.greeting[1]))
        st, _ = c.cmd("XCLIENT ADDR=192.0.2.9\r\n")
        self.assertEqual(st, b'NO "You are not from trusted IP"')

    def test_error_texts(self):
        c = self.connect()
        self.assertTrue(c.login("user2@example.com", "pass2").startswith(b"OK"))
        st, _ = c.cmd('GETSCRIPT "nothere"\r\n')
        self.assertEqual(st, b'NO (NONEXISTENT) "Sieve script does not exist."')
        self.assertTrue(c.put("act", "keep;")[0].startswith(b"OK"))
        self.assertTrue(c.cmd('SETACTIVE "act"\r\n')[0].startswith(b"OK"))
        st, _ = c.cmd('DELETESCRIPT "act"\r\n')
        self.assertEqual(st, b'NO (ACTIVE) "Cannot delete the active sieve script."')
        c.cmd('SETACTIVE ""\r\n')
        c.cmd('DELETESCRIPT "act"\r\n')

    # ---- stratusctl sieve on the same storage ----

    def ctl_file(self, text):
        fd, path = tempfile.mkstemp(dir=self.stratus.dir)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def test_ctl_put_then_managesieve(self):
        user = "user1@example.com"
        script = 'require "fileinto";\r\nif header :is "x-a" "b" { fileinto "B"; }\r\n'
        self.stratus.ctl("sieve", "put", "-a", user, "fromctl", self.ctl_file(script))
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertIn(b'"fromctl" ACTIVE', lines)
        st, lines = c.cmd('GETSCRIPT "fromctl"\r\n')
        self.assertEqual(lines, [script.encode()])
        # binary stored beside the source, as PUTSCRIPT does
        ls = self.stratus.ctl("fs", "ls", user, "sieve/").stdout
        self.assertIn("sieve/fromctl.svbin", ls)
        self.stratus.ctl("sieve", "deactivate", user)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertIn(b'"fromctl"', lines)
        self.stratus.ctl("sieve", "delete", user, "fromctl")
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertNotIn(b'"fromctl"', lines)

    def test_managesieve_put_then_ctl(self):
        user = "user2@example.com"
        c = self.connect()
        self.assertTrue(c.login(user, "pass2").startswith(b"OK"))
        self.assertTrue(c.put("fromms", "discard;\r\n")[0].startswith(b"OK"))
        self.assertTrue(c.cmd('SETACTIVE "fromms"\r\n')[0].startswith(b"OK"))
        out = self.stratus.ctl("sieve", "list", user).stdout
        self.assertIn("fromms ACTIVE\n", out)
        path = os.path.join(self.stratus.dir, "got.sieve")
        self.stratus.ctl("sieve", "get", user, "fromms", path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"discard;\r\n")
        r = self.stratus.ctl("sieve", "delete", user, "fromms", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("active", r.stderr)
        c.cmd('SETACTIVE ""\r\n')
        c.cmd('DELETESCRIPT "fromms"\r\n')

    def test_ctl_put_refuses_broken_script(self):
        user = "user1@example.com"
        r = self.stratus.ctl("sieve", "put", user, "broken",
                             self.ctl_file("keep;\r\n  frobnicate;\r\n"), check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("line 2, column 3: unknown command 'frobnicate'", r.stderr)
        r = self.stratus.ctl("sieve", "get", user, "broken", check=False)
        self.assertEqual(r.returncode, 68)
        r = self.stratus.ctl("sieve", "put", user, "../x", self.ctl_file("keep;"), check=False)
        self.assertEqual(r.returncode, 64)


class ManageSieveTrustedTest(StratusTestCase):
    """A proxy in login_trusted_networks forwards the client with XCLIENT;
    mail_max_userip_connections of `protocol sieve` counts per user+IP."""

    extra_config = """
login_trusted_networks = 127.0.0.0/8
protocol sieve {
  mail_max_userip_connections = 1
}
"""

    def connect(self):
        c = Sieve(self.stratus.ports["sieve"])
        self.addCleanup(c.close)
        return c

    def test_xclient_forwards_address_and_session(self):
        c = self.connect()
        self.assertIn(b'"XCLIENT"', c.greeting[1])
        st, _ = c.cmd("XCLIENT ADDR=192.0.2.7 PORT=5555 SESSION=fwdSess1 TTL=4\r\n")
        self.assertEqual(st, b'OK "Updated"')
        self.assertTrue(c.login().startswith(b"OK"))
        self.stratus.wait_log(r"Login: user=<user1@example.com>, method=PLAIN, "
                              r"rip=192\.0\.2\.7, lip=127\.0\.0\.1, session=<fwdSess1>")
        st, caps = c.cmd("CAPABILITY\r\n")
        self.assertNotIn(b'"XCLIENT"', caps)
        st, _ = c.cmd("XCLIENT ADDR=192.0.2.8\r\n")
        self.assertTrue(st.startswith(b"NO"), st)

    def test_xclient_bad_arguments(self):
        c = self.connect()
        st, _ = c.cmd("XCLIENT ADDR=not-an-ip\r\n")
        self.assertEqual(st, b'NO "Error in MANAGESIEVE command received by server."')

    def test_userip_limit(self):
        a = self.connect()
        self.assertTrue(a.login("user2@example.com", "pass2").startswith(b"OK"))
        b = self.connect()
        st = b.login("user2@example.com", "pass2")
        self.assertEqual(st, b'NO (TRYLATER) "Maximum number of connections from '
                             b'user+IP exceeded (mail_max_userip_connections=1)"')
        st, _ = b.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"NO"), st)
        a.cmd("LOGOUT\r\n")
        deadline = time.time() + 5
        while True:
            st = b.login("user2@example.com", "pass2")
            if st.startswith(b"OK") or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(st.startswith(b"OK"), st)


class ManageSieveClientTest(StratusTestCase):
    """Every RFC 5804 command once more from the client side: the SIEVE
    capability is lib/sieve's list, AUTHENTICATE without an initial
    response, commands in the wrong state, RENAMESCRIPT onto an existing
    name, the storage quota on PUTSCRIPT, an unterminated literal;
    sieve-connect (a real client) for upload/list/activate/download/
    checkscript/delete; and ManageSieve -> LMTP -> IMAP."""

    extra_config = """
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve_quota_max_scripts = 5
  sieve_quota_max_storage = 4k
}
"""

    def connect(self):
        c = Sieve(self.stratus.ports["sieve"])
        self.addCleanup(c.close)
        return c

    def test_capability_matches_lib_sieve(self):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "..", "lib", "sieve", "sieve-commands.c")
        with open(src) as f:
            text = f.read()
        body = text[text.index("sieve_extensions_string(void)"):]
        body = body[body.index("return"):body.index("}")]
        want = " ".join(re.findall(r'"([^"]*)"', body)).split()
        c = self.connect()
        caps = dict(re.match(rb'"([^"]+)"(?: "([^"]*)")?$', l).groups()
                    for l in c.greeting[1])
        self.assertEqual(caps[b"SIEVE"].decode().split(), want)
        self.assertIn(b"IMPLEMENTATION", caps)

    def test_authenticate_plain_without_initial_response(self):
        c = self.connect()
        c.s.sendall(b'AUTHENTICATE "PLAIN"\r\n')
        self.assertEqual(c.line(), b'""')
        ir = base64.b64encode(b"\0user1@example.com\0pass1")
        st, _ = c.cmd(b'"' + ir + b'"\r\n')
        self.assertTrue(st.startswith(b"OK"), st)

    def test_authenticate_login_initial_response(self):
        c = self.connect()
        u = base64.b64encode(b"user1@example.com")
        c.s.sendall(b'AUTHENTICATE "LOGIN" "' + u + b'"\r\n')
        challenge = c.line()
        self.assertEqual(base64.b64decode(challenge.strip(b'"')), b"Password:")
        st, _ = c.cmd(b'"' + base64.b64encode(b"pass1") + b'"\r\n')
        self.assertTrue(st.startswith(b"OK"), st)

    def test_commands_in_the_wrong_state(self):
        c = self.connect()
        for cmd in ('PUTSCRIPT "a" "keep;"', 'GETSCRIPT "a"', 'SETACTIVE "a"',
                    'DELETESCRIPT "a"', 'RENAMESCRIPT "a" "b"',
                    'HAVESPACE "a" 1', 'CHECKSCRIPT "keep;"', "UNAUTHENTICATE"):
            st, _ = c.cmd(cmd + "\r\n")
            self.assertTrue(st.startswith(b"NO"), (cmd, st))
            if cmd.startswith(("PUT", "GET")):
                # too many bad commands end the session: start anew
                c = self.connect()
        st, _ = c.cmd("STARTTLS\r\n")
        self.assertTrue(st.startswith(b"NO"), st)
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        st, _ = c.cmd('AUTHENTICATE "PLAIN" "AHVzZXIxQGV4YW1wbGUuY29tAHBhc3Mx"\r\n')
        self.assertEqual(st, b'NO "Already authenticated."')
        st, _ = c.cmd("STARTTLS\r\n")
        self.assertTrue(st.startswith(b"NO"), st)
        st, _ = c.cmd('NOOP "still"\r\n')
        self.assertEqual(st, b'OK (TAG "still") "Done"')

    def test_rename_onto_existing_and_storage_quota(self):
        c = self.connect()
        self.assertTrue(c.login("user2@example.com", "pass2").startswith(b"OK"))
        self.assertTrue(c.put("r1", "keep;")[0].startswith(b"OK"))
        self.assertTrue(c.put("r2", "discard;")[0].startswith(b"OK"))
        st, _ = c.cmd('RENAMESCRIPT "r1" "r2"\r\n')
        self.assertTrue(st.startswith(b"NO (ALREADYEXISTS)"), st)
        st, _ = c.cmd('RENAMESCRIPT "nothere" "r3"\r\n')
        self.assertTrue(st.startswith(b"NO (NONEXISTENT)"), st)
        big = "# " + "x" * 5000 + "\r\nkeep;\r\n"
        st, _ = c.put("big", big)
        self.assertTrue(st.startswith(b"NO (QUOTA"), st)
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(sorted(lines), [b'"r1"', b'"r2"'])
        for n in ("r1", "r2"):
            self.assertTrue(c.cmd('DELETESCRIPT "%s"\r\n' % n)[0].startswith(b"OK"))

    def test_unterminated_literal_costs_only_its_connection(self):
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        c.s.sendall(b'PUTSCRIPT "half" {100+}\r\nkeep;')
        c.s.shutdown(socket.SHUT_WR)
        try:
            st, _ = c.response()
            self.assertTrue(st.startswith(b"BYE"), st)
        except (EOFError, ConnectionResetError):
            pass
        # a literal not followed by CRLF is a protocol error, not a hang
        d = self.connect()
        self.assertTrue(d.login().startswith(b"OK"))
        st, _ = d.cmd(b'PUTSCRIPT "x" {5+}\r\nkeep;junk\r\n')
        self.assertTrue(st.startswith((b"NO", b"BYE")), st)
        e = self.connect()
        self.assertTrue(e.login().startswith(b"OK"))
        st, lines = e.cmd("LISTSCRIPTS\r\n")
        self.assertTrue(st.startswith(b"OK"), st)
        self.assertNotIn(b'"half"', lines)

    @unittest.skipUnless(shutil.which("sieve-connect"), "sieve-connect not installed")
    def test_sieve_connect(self):
        user = "user2@example.com"
        local = os.path.join(self.stratus.dir, "vacation.sieve")
        script = 'require ["fileinto"];\r\nif header :contains "subject" "sc" { fileinto "SC"; }\r\n'
        with open(local, "w", newline="") as f:
            f.write(script)

        def sc(*args):
            r, w = os.pipe()
            os.write(w, b"pass2\n")
            os.close(w)
            try:
                return subprocess.run(
                    ["sieve-connect", "--nosrv", "-s", "127.0.0.1", "-p",
                     str(self.stratus.ports["sieve"]), "-u", user,
                     "--passwordfd", str(r), "--clearchan", "--authmech", "PLAIN",
                     *args], capture_output=True, text=True, timeout=30,
                    pass_fds=(r,))
            finally:
                os.close(r)

        r = sc("--upload", "--localsieve", local, "--remotesieve", "fromsc")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sc("--checkscript", "--localsieve", local)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sc("--activate", "--remotesieve", "fromsc")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sc("--list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"fromsc\s+<-\s*active|fromsc.*ACTIVE|fromsc\s+\*")
        got = os.path.join(self.stratus.dir, "got.sieve")
        r = sc("--download", "--remotesieve", "fromsc", "--localsieve", got)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(got, "rb") as f:
            self.assertEqual(f.read(), script.encode())
        bad = os.path.join(self.stratus.dir, "bad.sieve")
        with open(bad, "w") as f:
            f.write("keep;\n  frobnicate;\n")
        r = sc("--checkscript", "--localsieve", bad)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line 2, column 3", r.stdout + r.stderr)
        r = sc("--deactivate")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sc("--delete", "--remotesieve", "fromsc")
        self.assertEqual(r.returncode, 0, r.stderr)
        c = self.connect()
        self.assertTrue(c.login(user, "pass2").startswith(b"OK"))
        st, lines = c.cmd("LISTSCRIPTS\r\n")
        self.assertEqual(lines, [])

    def test_put_filters_next_delivery_seen_by_imap(self):
        user = "user1@example.com"
        c = self.connect()
        self.assertTrue(c.login().startswith(b"OK"))
        script = ('require ["fileinto", "mailbox"];\r\n'
                  'if header :contains "subject" "[reports]" '
                  '{ fileinto :create "Reports/Weekly"; }\r\n')
        self.assertTrue(c.put("deliver", script)[0].startswith(b"OK"))
        self.assertTrue(c.cmd('SETACTIVE "deliver"\r\n')[0].startswith(b"OK"))
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.sendmail("sender@example.org", [user],
                       b"From: sender@example.org\r\nTo: " + user.encode() +
                       b"\r\nSubject: [reports] week 48\r\n\r\nfiled by sieve\r\n")
            l.sendmail("sender@example.org", [user],
                       b"From: sender@example.org\r\nTo: " + user.encode() +
                       b"\r\nSubject: plain\r\n\r\nstays in the inbox\r\n")
        im = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        try:
            im.login(user, "pass1")
            typ, boxes = im.list()
            self.assertEqual(typ, "OK")
            self.assertTrue(any(b'"Reports/Weekly"' in b or b"Reports/Weekly" in b
                                for b in boxes), boxes)
            typ, data = im.select('"Reports/Weekly"', readonly=True)
            self.assertEqual((typ, data), ("OK", [b"1"]))
            typ, data = im.fetch("1", "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertIn(b"filed by sieve", data[0][1])
            typ, data = im.select("INBOX", readonly=True)
            self.assertEqual((typ, data), ("OK", [b"1"]))
            typ, data = im.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertEqual(typ, "OK")
            self.assertIn(b"Subject: plain", data[0][1])
        finally:
            im.logout()
        c.cmd('SETACTIVE ""\r\n')
        c.cmd('DELETESCRIPT "deliver"\r\n')


class ManageSieveCapabilitySettingTest(StratusTestCase):
    """managesieve_sieve_capability replaces the announced SIEVE list."""

    extra_config = """
managesieve_sieve_capability = fileinto reject envelope
"""

    def test_capability_setting(self):
        c = Sieve(self.stratus.ports["sieve"])
        self.addCleanup(c.close)
        self.assertIn(b'"SIEVE" "fileinto reject envelope"', c.greeting[1])
        self.assertNotIn("managesieve_sieve_capability", self.stratus.read_log())


if __name__ == "__main__":
    main()
