"""METADATA and METADATA-SERVER (RFC 5464) against the real service set:
the examples of sections 4.2 (GETMETADATA, with MAXSIZE and DEPTH) and
4.3 (SETMETADATA with a literal, NIL to remove, the MAXSIZE and TOOMANY
refusals), byte for byte where the RFC gives the server's bytes;
annotations kept in svc-blob (the object is on disk, a new session reads
them), following a RENAME, gone with a deleted mailbox; invalid entry
names; then Python imaplib."""

import imaplib
import os
import socket

from stratus_harness import StratusTestCase, main

USER = "meta@example.com"
USER2 = "meta2@example.com"


class Raw:
    def __init__(self, port, user):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        self.cmd("LOGIN %s pw" % user)

    def response(self):
        line = self.f.readline()
        if not line:
            raise EOFError
        out = line
        while line.endswith(b"}\r\n") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1:-3])
            out += self.f.read(n)
            line = self.f.readline()
            out += line
        return out

    def cmd(self, text, tag=None):
        self.n += 1
        tag = tag or "t%d" % self.n
        if isinstance(text, str):
            text = text.encode()
        self.s.sendall(tag.encode() + b" " + text + b"\r\n")
        return self.collect(tag)

    def collect(self, tag):
        lines = []
        while True:
            r = self.response()
            if r.startswith(tag.encode() + b" "):
                return lines, r
            lines.append(r)

    def close(self):
        self.s.close()


class ImapMetadataTest(StratusTestCase):
    users = {USER: "pw", USER2: "pw"}

    def raw(self, user=USER):
        return Raw(self.stratus.ports["imap"], user)

    def test_1_rfc_examples(self):
        r = self.raw()
        lines, _ = r.cmd("CAPABILITY")
        self.assertIn(b" METADATA ", lines[0])
        self.assertIn(b" METADATA-SERVER", lines[0])
        _, t = r.cmd('SETMETADATA "" (/shared/comment "Shared comment")', tag="a")
        self.assertEqual(t, b"a OK SETMETADATA complete\r\n")
        # 4.3: a value sent as a literal
        r.s.sendall(b"a SETMETADATA INBOX (/private/comment {33}\r\n")
        self.assertTrue(r.f.readline().startswith(b"+ "))
        r.s.sendall(b"My new comment across\r\ntwo lines.)\r\n")
        _, t = r.collect("a")
        self.assertEqual(t, b"a OK SETMETADATA complete\r\n")
        lines, t = r.cmd('GETMETADATA "INBOX" /private/comment', tag="a")
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/comment {33}\r\n'
                                 b'My new comment across\r\ntwo lines.)\r\n'])
        # 4.2
        r.cmd('SETMETADATA INBOX (/private/comment "My own comment")')
        lines, t = r.cmd('GETMETADATA "" /shared/comment', tag="a")
        self.assertEqual(lines, [b'* METADATA "" (/shared/comment "Shared comment")\r\n'])
        self.assertEqual(t, b"a OK GETMETADATA complete\r\n")
        lines, t = r.cmd('GETMETADATA "INBOX" /private/comment', tag="a")
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/comment "My own comment")\r\n'])
        self.assertEqual(t, b"a OK GETMETADATA complete\r\n")
        r.cmd('SETMETADATA INBOX (/shared/comment "Shared comment")')
        lines, t = r.cmd('GETMETADATA "INBOX" (/shared/comment /private/comment)', tag="a")
        self.assertEqual(lines, [b'* METADATA "INBOX" (/shared/comment "Shared comment" '
                                 b'/private/comment "My own comment")\r\n'])
        # 4.2.1 MAXSIZE: a 2199-byte /shared/comment is left out
        big = b"x" * 2199
        r.s.sendall(b"b SETMETADATA INBOX (/shared/comment {2199+}\r\n" + big + b")\r\n")
        _, t = r.collect("b")
        self.assertTrue(t.startswith(b"b OK"), t)
        lines, t = r.cmd('GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)',
                         tag="a")
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/comment "My own comment")\r\n'])
        self.assertEqual(t, b"a OK [METADATA LONGENTRIES 2199] GETMETADATA complete\r\n")
        # the options may also come first (section 5's syntax)
        lines, t = r.cmd('GETMETADATA (MAXSIZE 1024) "INBOX" (/shared/comment /private/comment)',
                         tag="a")
        self.assertEqual(t, b"a OK [METADATA LONGENTRIES 2199] GETMETADATA complete\r\n")
        lines, t = r.cmd('GETMETADATA "INBOX" /shared/comment')
        self.assertEqual(lines, [b'* METADATA "INBOX" (/shared/comment {2199}\r\n' + big + b")\r\n"])
        # 4.2.2 DEPTH
        r.cmd('SETMETADATA INBOX (/private/filters/values/small "SMALLER 5000" '
              '/private/filters/values/boss "FROM \\"boss@example.com\\"")')
        r.cmd('SETMETADATA INBOX (/private/filters/values/boss/deeper "x")')
        lines, t = r.cmd('GETMETADATA "INBOX" (DEPTH 1) (/private/filters/values)', tag="a")
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/filters/values/small "SMALLER 5000" '
                                 b'/private/filters/values/boss "FROM \\"boss@example.com\\"")\r\n'])
        self.assertEqual(t, b"a OK GETMETADATA complete\r\n")
        lines, _ = r.cmd('GETMETADATA "INBOX" (DEPTH infinity) /private/filters')
        self.assertEqual(len(lines), 1)
        self.assertIn(b"/private/filters/values/boss/deeper \"x\"", lines[0])
        lines, _ = r.cmd('GETMETADATA "INBOX" (DEPTH 0) /private/filters')
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/filters NIL)\r\n'])
        # 4.3: NIL removes
        _, t = r.cmd("SETMETADATA INBOX (/private/comment NIL)", tag="a")
        self.assertEqual(t, b"a OK SETMETADATA complete\r\n")
        lines, _ = r.cmd('GETMETADATA "INBOX" /private/comment')
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/comment NIL)\r\n'])
        r.close()

    def test_2_limits(self):
        r = self.raw(USER2)
        r.cmd("CREATE lim")
        big = b"y" * (32 * 1024 + 1)
        r.s.sendall(b"a SETMETADATA lim (/private/big {%d+}\r\n" % len(big) + big + b")\r\n")
        _, t = r.collect("a")
        self.assertEqual(t, b"a NO [METADATA MAXSIZE 32768] Annotation value too large\r\n")
        # 512 entries fit; one more is TOOMANY
        pairs = " ".join('/private/e%d "v"' % i for i in range(512))
        _, t = r.cmd("SETMETADATA lim (%s)" % pairs)
        self.assertIn(b"OK", t)
        _, t = r.cmd('SETMETADATA "" (/private/one-more "v")', tag="a")
        self.assertTrue(t.startswith(b"a NO [METADATA TOOMANY]"), t)
        # removing always works, and makes room again
        pairs = " ".join("/private/e%d NIL" % i for i in range(512))
        _, t = r.cmd("SETMETADATA lim (%s)" % pairs)
        self.assertIn(b"OK", t)
        _, t = r.cmd('SETMETADATA "" (/private/one-more "v")')
        self.assertIn(b"OK", t)
        # the total size: 8 values of 32 KB (and their names) are over
        # 256 KB
        value = b"z" * (32 * 1024)
        for i in range(7):
            r.s.sendall(b"s SETMETADATA lim (/private/v%d {%d+}\r\n" % (i, len(value)) + value + b")\r\n")
            _, t = r.collect("s")
            self.assertTrue(t.startswith(b"s OK"), (i, t))
        r.s.sendall(b"s SETMETADATA lim (/private/v7 {%d+}\r\n" % len(value) + value + b")\r\n")
        _, t = r.collect("s")
        self.assertTrue(t.startswith(b"s NO [METADATA TOOMANY]"), t)
        # a deleted mailbox's annotations stop counting: they are dropped
        # when the limits are reached
        _, t = r.cmd("DELETE lim")
        self.assertIn(b"OK", t)
        r.s.sendall(b's SETMETADATA "" (/private/after {%d+}\r\n' % len(value) + value + b")\r\n")
        _, t = r.collect("s")
        self.assertTrue(t.startswith(b"s OK"), t)
        r.cmd("CREATE lim")
        lines, _ = r.cmd("GETMETADATA lim (DEPTH infinity) /private")
        self.assertEqual(lines, [])
        lines, _ = r.cmd('GETMETADATA "" /private/one-more')
        self.assertEqual(lines, [b'* METADATA "" (/private/one-more "v")\r\n'])
        r.close()

    def test_3_storage_rename_delete(self):
        r = self.raw()
        r.cmd("CREATE keep")
        r.cmd('SETMETADATA keep (/private/comment "kept")')
        r.close()
        # stored as an object in svc-blob (obox_index_fs)
        found = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(self.stratus.dir, "objects"))
                 for f in fs if "imap-metadata" in f]
        self.assertTrue(found, "no imap-metadata object under objects/")
        r = self.raw()
        lines, _ = r.cmd('GETMETADATA keep /private/comment')
        self.assertEqual(lines, [b'* METADATA "keep" (/private/comment "kept")\r\n'])
        _, t = r.cmd("RENAME keep kept2")
        self.assertIn(b"OK", t)
        lines, _ = r.cmd('GETMETADATA kept2 /private/comment')
        self.assertEqual(lines, [b'* METADATA "kept2" (/private/comment "kept")\r\n'])
        r.cmd("DELETE kept2")
        r.cmd("CREATE kept2")
        lines, _ = r.cmd('GETMETADATA kept2 /private/comment')
        self.assertEqual(lines, [b'* METADATA "kept2" (/private/comment NIL)\r\n'])
        _, t = r.cmd('GETMETADATA nosuchbox /private/comment', tag="n")
        self.assertTrue(t.startswith(b"n NO [NONEXISTENT]"), t)
        _, t = r.cmd('SETMETADATA nosuchbox (/private/comment "x")', tag="n")
        self.assertTrue(t.startswith(b"n NO [NONEXISTENT]"), t)
        for bad in ("/comment", "/private", "/private/", "/private/a//b",
                    "/private/a*", "/shared/%", "/vendor/x"):
            _, t = r.cmd('SETMETADATA INBOX (%s "x")' % bad, tag="b")
            self.assertTrue(t.startswith(b"b BAD"), (bad, t))
            _, t = r.cmd('GETMETADATA INBOX %s' % bad, tag="b")
            # the roots may be read (with DEPTH), never set
            self.assertTrue(t.startswith(b"b OK" if bad == "/private" else b"b BAD"), (bad, t))
        _, t = r.cmd('GETMETADATA (DEPTH 2) INBOX /private/x', tag="b")
        self.assertTrue(t.startswith(b"b BAD"), t)
        _, t = r.cmd('SETMETADATA INBOX (/private/x)', tag="b")
        self.assertTrue(t.startswith(b"b BAD"), t)
        # entry names are case-insensitive
        r.cmd('SETMETADATA INBOX (/PRIVATE/Case "c")')
        lines, _ = r.cmd('GETMETADATA INBOX /private/case')
        self.assertEqual(lines, [b'* METADATA "INBOX" (/private/case "c")\r\n'])
        # a value with a NUL comes back as literal8
        r.s.sendall(b"l SETMETADATA INBOX (/private/bin ~{3+}\r\na\x00b)\r\n")
        _, t = r.collect("l")
        self.assertTrue(t.startswith(b"l OK"), t)
        r.s.sendall(b"g GETMETADATA INBOX /private/bin\r\n")
        self.assertEqual(r.f.readline(), b'* METADATA "INBOX" (/private/bin ~{3}\r\n')
        self.assertEqual(r.f.read(5), b"a\x00b)\r")
        r.f.readline()
        self.assertTrue(r.f.readline().startswith(b"g OK"))
        r.close()

    def test_5_two_sessions_lose_nothing(self):
        # Two sessions of one user change annotations at the same time:
        # each SETMETADATA rewrites the user's object, so they must not
        # overlap or one change is lost.
        a, b = self.raw(), self.raw()
        a.cmd("CREATE both")
        n = 25
        for c, who in ((a, "a"), (b, "b")):
            c.s.sendall(b"".join(b'%s%d SETMETADATA both (/private/%s%d "v%d")\r\n'
                                 % (who.encode(), i, who.encode(), i, i) for i in range(n)))
        for c, who in ((a, "a"), (b, "b")):
            for i in range(n):
                _, t = c.collect("%s%d" % (who, i))
                self.assertIn(b"OK", t)
        lines, _ = a.cmd("GETMETADATA (DEPTH 1) both /private")
        self.assertEqual(len(lines), 1)
        for who in ("a", "b"):
            for i in range(n):
                self.assertIn(b'/private/%s%d "v%d"' % (who.encode(), i, i), lines[0])
        # one waiting behind another and then refused still frees the lock
        a.s.sendall(b'x1 SETMETADATA both (/private/x "1")\r\n')
        b.s.sendall(b'y1 SETMETADATA nosuch (/private/x "1")\r\n'
                    b'y2 SETMETADATA both (/private/y "2")\r\n')
        self.assertIn(b"OK", a.collect("x1")[1])
        self.assertIn(b"NO", b.collect("y1")[1])
        self.assertIn(b"OK", b.collect("y2")[1])
        a.close()
        b.close()

    def test_4_imaplib(self):
        for name in ("GETMETADATA", "SETMETADATA"):
            imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pw")
        m.create("lib")
        typ, _ = m._simple_command("SETMETADATA", "lib", '(/private/comment "from imaplib")')
        self.assertEqual(typ, "OK")
        typ, _ = m._simple_command("GETMETADATA", "lib", "/private/comment")
        self.assertEqual(typ, "OK")
        typ, data = m._untagged_response(typ, [None], "METADATA")
        self.assertEqual(data, [b'"lib" (/private/comment "from imaplib")'])
        m.select("lib")
        typ, _ = m._simple_command("GETMETADATA", '""', "/shared/comment")
        typ, data = m._untagged_response(typ, [None], "METADATA")
        self.assertEqual(data, [b'"" (/shared/comment "Shared comment")'])
        m.logout()


if __name__ == "__main__":
    main()
