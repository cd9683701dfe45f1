"""UTF8=ACCEPT (RFC 6855) against the real service set: ENABLE
UTF8=ACCEPT, mailbox names taken and given in UTF-8 (modified UTF-7 for
a session that did not enable it), the UTF8 APPEND data extension
(section 4) with a UTF-8 header kept byte for byte, SEARCH with a
CHARSET refused with BAD after the ENABLE and SORT/THREAD with a charset
other than UTF-8 refused (section 3 and errata 4029); Python imaplib's
own UTF-8 mode (enable("UTF8=ACCEPT")) for names."""

import imaplib
import socket

from stratus_harness import StratusTestCase, main

USER = "utf8@example.com"
NAME = "Gr\u00fc\u00dfe \u65e5\u672c"
NAME_UTF7 = "Gr&APwA3w-e &ZeVnLA-"
MSG = ("From: =?utf-8?q?x?= <a@example.org>\r\nTo: b@example.org\r\n"
       "Subject: Gr\u00fc\u00dfe aus K\u00f6ln\r\n"
       "From-Name: J\u00f6rg \u65e5\u672c\r\n\r\n"
       "K\u00f6rper des Textes\r\n").encode()


class Raw:
    """A raw session reading responses with their literals inline."""

    def __init__(self, port, user):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.n = 0
        self.f.readline()
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

    def send(self, data):
        self.s.sendall(data)

    def cmd(self, text, tag=None):
        self.n += 1
        tag = tag or "t%d" % self.n
        if isinstance(text, str):
            text = text.encode()
        self.s.sendall(tag.encode() + b" " + text + b"\r\n")
        lines = []
        while True:
            r = self.response()
            if r.startswith(tag.encode() + b" "):
                return lines, r
            lines.append(r)

    def close(self):
        self.s.close()


class ImapUtf8Test(StratusTestCase):
    users = {USER: "pw"}

    def raw(self):
        return Raw(self.stratus.ports["imap"], USER)

    def test_1_enable_and_names(self):
        r = self.raw()
        lines, tagged = r.cmd("CAPABILITY")
        self.assertIn(b" UTF8=ACCEPT", lines[0])
        lines, tagged = r.cmd("ENABLE UTF8=ACCEPT", tag="t1")
        self.assertEqual(lines, [b"* ENABLED UTF8=ACCEPT\r\n"])
        self.assertTrue(tagged.startswith(b"t1 OK"), tagged)
        # a second ENABLE does not list it again (RFC 5161)
        lines, _ = r.cmd("ENABLE UTF8=ACCEPT")
        self.assertEqual(lines, [b"* ENABLED\r\n"])
        # a UTF-8 name, quoted, as RFC 6855 section 3 allows after ENABLE
        _, tagged = r.cmd(b'CREATE "' + NAME.encode() + b'"')
        self.assertIn(b"OK", tagged)
        lines, tagged = r.cmd('LIST "" "*"')
        joined = b"".join(lines)
        self.assertIn(NAME.encode(), joined)
        self.assertNotIn(NAME_UTF7.encode(), joined)
        _, tagged = r.cmd(b'SELECT "' + NAME.encode() + b'"')
        self.assertIn(b"OK", tagged)
        r.close()
        # a session without the ENABLE sees modified UTF-7
        r = self.raw()
        lines, _ = r.cmd('LIST "" "*"')
        self.assertIn(b'"' + NAME_UTF7.encode() + b'"', b"".join(lines))
        _, tagged = r.cmd('STATUS "%s" (MESSAGES)' % NAME_UTF7)
        self.assertIn(b"OK", tagged)
        r.close()

    def test_2_append_utf8_data(self):
        r = self.raw()
        r.cmd("ENABLE UTF8=ACCEPT")
        r.cmd("CREATE u8box")
        # RFC 6855 section 4: APPEND ... UTF8 (literal8)
        r.send(b"a1 APPEND u8box UTF8 (~{%d+}\r\n" % len(MSG) + MSG + b")\r\n")
        resp = r.response()
        self.assertTrue(resp.startswith(b"a1 OK"), resp)
        r.cmd("SELECT u8box")
        lines, tagged = r.cmd("FETCH 1 (BODY.PEEK[])")
        self.assertIn(MSG, lines[0])
        # the plain form still works after ENABLE
        r.send(b"a2 APPEND u8box {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
        resp = r.response()
        while resp.startswith(b"* "):
            resp = r.response()
        self.assertTrue(resp.startswith(b"a2 OK"), resp)
        # malformed UTF8 data
        _, tagged = r.cmd(b"APPEND u8box UTF8 ({5+}\r\nabcde {1+}\r\nx)")
        self.assertIn(b"BAD", tagged)
        _, tagged = r.cmd(b"APPEND u8box UTF8 {5+}\r\nabcde")
        self.assertIn(b"BAD", tagged)
        r.close()

    def test_3_search_charset_refused(self):
        r = self.raw()
        r.cmd("CREATE sbox")
        r.send(b"a APPEND sbox {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
        r.response()
        r.cmd("SELECT sbox")
        # before ENABLE: CHARSET is fine
        lines, tagged = r.cmd("SEARCH CHARSET UTF-8 ALL")
        self.assertEqual(lines, [b"* SEARCH 1\r\n"])
        r.cmd("ENABLE UTF8=ACCEPT")
        _, tagged = r.cmd("SEARCH CHARSET UTF-8 ALL", tag="s1")
        self.assertTrue(tagged.startswith(b"s1 BAD"), tagged)
        _, tagged = r.cmd("UID SEARCH CHARSET US-ASCII ALL", tag="s2")
        self.assertTrue(tagged.startswith(b"s2 BAD"), tagged)
        # the strings are UTF-8 without a label
        lines, tagged = r.cmd(b'SEARCH BODY "K\xc3\xb6rper"')
        self.assertEqual(lines, [b"* SEARCH 1\r\n"], tagged)
        # SORT and THREAD: only UTF-8 after ENABLE (errata 4029)
        _, tagged = r.cmd("SORT (SUBJECT) US-ASCII ALL", tag="o1")
        self.assertTrue(tagged.startswith(b"o1 BAD"), tagged)
        lines, tagged = r.cmd("SORT (SUBJECT) UTF-8 ALL", tag="o2")
        self.assertTrue(tagged.startswith(b"o2 OK"), tagged)
        self.assertEqual(lines, [b"* SORT 1\r\n"])
        _, tagged = r.cmd("THREAD REFERENCES US-ASCII ALL", tag="h1")
        self.assertTrue(tagged.startswith(b"h1 BAD"), tagged)
        _, tagged = r.cmd("THREAD REFERENCES UTF-8 ALL", tag="h2")
        self.assertTrue(tagged.startswith(b"h2 OK"), tagged)
        r.close()

    def test_4_imaplib_utf8_mode(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pw")
        typ, data = m.enable("UTF8=ACCEPT")
        self.assertEqual(typ, "OK")
        self.assertTrue(m.utf8_enabled)
        name = "Caf\u00e9 \u2615"
        typ, _ = m.create('"%s"' % name)
        self.assertEqual(typ, "OK")
        typ, data = m.list()
        names = b"".join(d if isinstance(d, bytes) else b"".join(d) for d in data)
        self.assertIn(name.encode(), names)
        typ, data = m.select('"%s"' % name)
        self.assertEqual((typ, data), ("OK", [b"0"]))
        typ, data = m.status('"%s"' % name, "(MESSAGES)")
        self.assertEqual(typ, "OK")
        m.logout()


if __name__ == "__main__":
    main()
