"""BINARY (RFC 3516): FETCH BINARY[part], BINARY.PEEK, BINARY.SIZE and a
partial over the decoded content, base64 and quoted-printable undone, a
literal8 (~{n}) when the content has NUL bytes, NO [UNKNOWN-CTE] for an
encoding the server does not know, \\Seen set by BINARY[] but not PEEK,
and APPEND of a literal8 read back byte for byte. Python imaplib fetches
BINARY too (its literal pattern takes ~{n})."""

import base64
import imaplib
import re
import socket

from stratus_harness import StratusTestCase, main

USER = "bin@example.com"
BLOB = bytes(range(256)) * 3          # NULs and every byte value
MSG = (b"From: a@example.org\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
       b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
       b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
       b"=C3=A9t=C3=A9 soft=\r\nbreak\r\n"
       b"--b\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Transfer-Encoding: BASE64 (comment)\r\n\r\n" +
       base64.encodebytes(BLOB).replace(b"\n", b"\r\n") +
       b"--b\r\nContent-Type: application/x-thing\r\n"
       b"Content-Transfer-Encoding: x-uuencode\r\n\r\n"
       b"begin 644 x\r\nend\r\n"
       b"--b\r\nContent-Type: text/plain\r\n\r\nplain 7bit\nbare LF\r\n"
       b"--b--\r\n")


class Session:
    """Raw IMAP bytes: cmd() returns the response up to the tagged line,
    with literals (and literal8s) read by their announced size."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.n = 0
        self.f.readline()

    def cmd(self, text, literal=None):
        self.n += 1
        tag = b"b%d" % self.n
        if literal is None:
            self.s.sendall(tag + b" " + text + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text + b" ~{%d}\r\n" % len(literal))
            cont = self.f.readline()
            assert cont.startswith(b"+"), cont
            self.s.sendall(literal + b"\r\n")
        out = b""
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError(text)
            if line.startswith(tag + b" "):
                return out, line[len(tag) + 1:].rstrip(b"\r\n")
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                out += self.f.read(int(m.group(1)))


class ImapBinaryTest(StratusTestCase):
    users = {USER: "pw"}

    def test_binary_fetch_and_append(self):
        s = Session(self.stratus.ports["imap"])
        out, tagged = s.cmd(b"LOGIN %s pw" % USER.encode())
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        self.assertIn(b" BINARY", s.cmd(b"CAPABILITY")[0])
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pw")
        m.append("INBOX", None, None, MSG)
        s.cmd(b"SELECT INBOX")

        out, tagged = s.cmd(b"FETCH 1 (BINARY.PEEK[1])")
        self.assertEqual(out, b"* 1 FETCH (BINARY[1] {15}\r\n"
                         b"\xc3\xa9t\xc3\xa9 softbreak)\r\n")
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        out, _ = s.cmd(b"FETCH 1 (BINARY.PEEK[2])")
        self.assertEqual(out, b"* 1 FETCH (BINARY[2] ~{%d}\r\n%s)\r\n"
                         % (len(BLOB), BLOB))
        out, _ = s.cmd(b"FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[1])")
        self.assertEqual(out, b"* 1 FETCH (BINARY.SIZE[2] %d BINARY.SIZE[1] 15)\r\n"
                         % len(BLOB))
        out, _ = s.cmd(b"FETCH 1 (BINARY.PEEK[2]<254.4>)")
        self.assertEqual(out, b"* 1 FETCH (BINARY[2]<254> ~{4}\r\n\xfe\xff\x00\x01)\r\n")
        # identity encoding: bare LF as CRLF, like BODY[]
        out, _ = s.cmd(b"FETCH 1 (BINARY.PEEK[4])")
        self.assertEqual(out, b"* 1 FETCH (BINARY[4] {19}\r\nplain 7bit\r\nbare LF)\r\n")
        # not \Seen so far; BINARY[1] sets it
        out, _ = s.cmd(b"FETCH 1 (FLAGS)")
        self.assertNotIn(b"\\Seen", out)
        out, _ = s.cmd(b"FETCH 1 (BINARY[1])")
        self.assertIn(b"FLAGS (\\Seen", out)
        # an encoding this server cannot undo
        out, tagged = s.cmd(b"FETCH 1 (BINARY.PEEK[3])")
        self.assertEqual(out, b"")
        self.assertTrue(tagged.startswith(b"NO [UNKNOWN-CTE]"), tagged)
        # a part that does not exist is empty; sections other than part
        # numbers are BAD
        out, _ = s.cmd(b"FETCH 1 (BINARY.PEEK[9])")
        self.assertEqual(out, b"* 1 FETCH (BINARY[9] {0}\r\n)\r\n")
        for bad in (b"BINARY[1.MIME]", b"BINARY[HEADER]", b"BINARY.SIZE[1]<0.5>",
                    b"BINARY[1]<0.0>", b"BINARY[1"):
            _, tagged = s.cmd(b"FETCH 1 (" + bad + b")")
            self.assertTrue(tagged.startswith(b"BAD"), (bad, tagged))

        # APPEND literal8 with NULs; BINARY[] gives the bytes back.
        raw = b"Subject: nul\r\n\r\nzero \x00 bytes \x00\x01\r\n"
        out, tagged = s.cmd(b"APPEND INBOX", literal=raw)
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        s.cmd(b"NOOP")
        out, _ = s.cmd(b"FETCH 2 (BINARY.PEEK[] BINARY.SIZE[])")
        self.assertEqual(out, b"* 2 FETCH (BINARY[] ~{%d}\r\n%s BINARY.SIZE[] %d)\r\n"
                         % (len(raw), raw, len(raw)))

        # imaplib
        m.select("INBOX")
        typ, data = m.fetch("1", "(BINARY.PEEK[2])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], BLOB)
        m.logout()


if __name__ == "__main__":
    main()
