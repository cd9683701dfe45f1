"""PREVIEW (RFC 8970): FETCH PREVIEW and PREVIEW (LAZY) give up to 256
characters of the first text part: text/plain before text/html (tags,
style and entities dropped), transfer encoding and charset undone, white
space collapsed, UTF-8 never cut inside a character; "" when there is no
text. The RFC's example form, then Python imaplib."""

import imaplib
import re

from stratus_harness import StratusTestCase, main
from test_imap_ext import Raw

USER = "preview@example.com"

PLAIN = (b"From: a@example.org\r\nSubject: plain\r\n\r\n"
         b"Hello   there,\r\n\r\nthis is the\tfirst line.\r\n")
ALT = (b"From: a@example.org\r\nSubject: alt\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/alternative; boundary=\"x\"\r\n\r\n"
       b"--x\r\nContent-Type: text/html\r\n\r\n<p>html part</p>\r\n"
       b"--x\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\n"
       b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
       b"Gr=FC=DFe aus K=F6ln =\r\nund mehr\r\n--x--\r\n")
HTML = (b"From: a@example.org\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p {color: red}</style></head>"
        b"<body><p>Fish &amp; chips</p><p>&lt;3</p></body></html>\r\n")
NOTEXT = (b"From: a@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
          b"\r\nJVBERi0=\r\n")
LONG = (b"From: a@example.org\r\nSubject: long\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
        ("\u00e9" * 300).encode() + b"\r\n")


class ImapPreviewTest(StratusTestCase):
    users = {USER: "pw"}

    def test_preview(self):
        port = self.stratus.ports["imap"]
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, "pw")
        for body in (PLAIN, ALT, HTML, NOTEXT, LONG):
            m.append("INBOX", None, None, body)
        r = Raw(port, USER)
        lines, _ = r.ok("CAPABILITY")
        self.assertIn(" PREVIEW", lines[0])
        r.ok("SELECT INBOX")
        lines, _ = r.ok("FETCH 1 (PREVIEW)")
        self.assertEqual(lines, ['* 1 FETCH (PREVIEW "Hello there, this is the first line.")'])
        lines, _ = r.ok("FETCH 3 (PREVIEW (LAZY))")
        self.assertEqual(lines, ['* 3 FETCH (PREVIEW "Fish & chips <3")'])
        lines, _ = r.ok("FETCH 4 (UID PREVIEW)")
        self.assertEqual(lines, ['* 4 FETCH (UID 4 PREVIEW "")'])
        _, tagged = r.cmd("FETCH 1 (PREVIEW (EAGER))")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        # 8-bit text comes as a literal: read it with imaplib.
        m.select("INBOX")
        typ, data = m.fetch("2", "(PREVIEW)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1].decode(), "Gr\u00fc\u00dfe aus K\u00f6ln und mehr")
        typ, data = m.fetch("5", "(PREVIEW)")
        self.assertEqual(data[0][1].decode(), "\u00e9" * 256)
        # PREVIEW does not set \Seen.
        typ, data = m.fetch("1:5", "(FLAGS)")
        self.assertFalse(any(b"\\Seen" in d for d in data), data)
        r.close()
        m.logout()


if __name__ == "__main__":
    main()
