"""svc-imap FETCH ENVELOPE, BODYSTRUCTURE and BODY on a corpus of tricky
messages. Every expected string is written by hand from RFC 3501 section
7.4.2 and the grammar of section 9 (body-type-mpart = 1*body SP subtype,
so nested bodies follow each other without a space); sizes count the
octets of each part body, where the CRLF before a boundary delimiter
belongs to the delimiter (RFC 2046 5.1.1), and line counts are the CRLFs
in that body. Messages use CRLF line ends throughout."""

import imaplib

from stratus_harness import StratusTestCase, main


def crlf(*lines):
    return b"".join(line + b"\r\n" for line in lines)


ALICE = b'(("Alice" NIL "alice" "example.org"))'

# (1) multipart/mixed: multipart/alternative (text/plain + text/html) and
# a base64 application/pdf attachment with a filename.
NESTED = crlf(
    b"From: Alice <alice@example.org>",
    b"To: Bob <bob@example.com>",
    b"Subject: nested",
    b"Date: Wed, 17 Jul 1996 02:44:25 -0700",
    b"Message-ID: <m1@example.org>",
    b"MIME-Version: 1.0",
    b'Content-Type: multipart/mixed; boundary="outer"',
    b"",
    b"preamble",
    b"--outer",
    b'Content-Type: multipart/alternative; boundary="inner"',
    b"",
    b"--inner",
    b"Content-Type: text/plain; charset=utf-8",
    b"",
    b"plain text",              # body "plain text\r\n": 12 octets, 1 line
    b"",
    b"--inner",
    b"Content-Type: text/html; charset=utf-8",
    b"",
    b"<p>html</p>",             # 13 octets, 1 line
    b"",
    b"--inner--",
    b"",
    b"--outer",
    b'Content-Type: application/pdf; name="doc.pdf"',
    b"Content-Transfer-Encoding: base64",
    b'Content-Disposition: attachment; filename="doc.pdf"',
    b"",
    b"JVBERi0xLjQK",            # 14 octets (no line count: not text)
    b"",
    b"--outer--")
NESTED_ENVELOPE = (
    b'ENVELOPE ("Wed, 17 Jul 1996 02:44:25 -0700" "nested" ' + ALICE + b" " + ALICE +
    b" " + ALICE + b' (("Bob" NIL "bob" "example.com")) NIL NIL NIL "<m1@example.org>")')
NESTED_BODYSTRUCTURE = (
    b'BODYSTRUCTURE ((('
    b'"text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)('
    b'"text" "html" ("charset" "utf-8") NIL NIL "7bit" 13 1 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "inner") NIL NIL NIL)('
    b'"application" "pdf" ("name" "doc.pdf") NIL NIL "base64" 14 NIL'
    b' ("attachment" ("filename" "doc.pdf")) NIL NIL)'
    b' "mixed" ("boundary" "outer") NIL NIL NIL)')
NESTED_BODY = (
    b'BODY ((("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1)('
    b'"text" "html" ("charset" "utf-8") NIL NIL "7bit" 13 1) "alternative")('
    b'"application" "pdf" ("name" "doc.pdf") NIL NIL "base64" 14) "mixed")')

# (2) a message/rfc822 attachment. Its body is the whole encapsulated
# message (188 octets, 8 lines); the inner message has no Content-Type,
# so its body is text/plain us-ascii 7bit, 38 octets, 2 lines.
FORWARD = crlf(
    b"From: Carol <carol@example.net>",
    b"To: Dave <dave@example.com>",
    b"Subject: fwd",
    b"Date: Thu, 18 Jul 1996 10:00:00 +0000",
    b"Message-ID: <m2@example.net>",
    b"MIME-Version: 1.0",
    b'Content-Type: multipart/mixed; boundary="b2"',
    b"",
    b"--b2",
    b"Content-Type: text/plain; charset=us-ascii",
    b"",
    b"see attached",            # 14 octets, 1 line
    b"",
    b"--b2",
    b"Content-Type: message/rfc822",
    b"",
    b"From: Eve <eve@example.org>",
    b"To: Frank <frank@example.com>",
    b"Subject: inner",
    b"Date: Fri, 19 Jul 1996 09:00:00 +0200",
    b"Message-ID: <inner@example.org>",
    b"",
    b"inner body line 1",
    b"inner body line 2",
    b"",
    b"--b2--")
CAROL = b'(("Carol" NIL "carol" "example.net"))'
EVE = b'(("Eve" NIL "eve" "example.org"))'
INNER_ENVELOPE = (
    b'("Fri, 19 Jul 1996 09:00:00 +0200" "inner" ' + EVE + b" " + EVE + b" " + EVE +
    b' (("Frank" NIL "frank" "example.com")) NIL NIL NIL "<inner@example.org>")')
FORWARD_ENVELOPE = (
    b'ENVELOPE ("Thu, 18 Jul 1996 10:00:00 +0000" "fwd" ' + CAROL + b" " + CAROL + b" " +
    CAROL + b' (("Dave" NIL "dave" "example.com")) NIL NIL NIL "<m2@example.net>")')
FORWARD_BODYSTRUCTURE = (
    b'BODYSTRUCTURE (('
    b'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 1 NIL NIL NIL NIL)('
    b'"message" "rfc822" NIL NIL NIL "7bit" 188 ' + INNER_ENVELOPE +
    b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 38 2 NIL NIL NIL NIL)'
    b' 8 NIL NIL NIL NIL) "mixed" ("boundary" "b2") NIL NIL NIL)')
FORWARD_BODY = (
    b'BODY (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 1)('
    b'"message" "rfc822" NIL NIL NIL "7bit" 188 ' + INNER_ENVELOPE +
    b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 38 2) 8) "mixed")')

# (3) RFC 2047 encoded words: ENVELOPE returns them undecoded.
ENCODED = crlf(
    b"From: =?UTF-8?B?SsO2cmc=?= <joerg@example.org>",
    b"To: bob@example.com",
    b"Subject: =?ISO-8859-1?Q?caf=E9?= ok",
    b"Message-ID: <m3@example.org>",
    b"",
    b"body")
JOERG = b'(("=?UTF-8?B?SsO2cmc=?=" NIL "joerg" "example.org"))'
ENCODED_ENVELOPE = (
    b'ENVELOPE (NIL "=?ISO-8859-1?Q?caf=E9?= ok" ' + JOERG + b" " + JOERG + b" " + JOERG +
    b' ((NIL NIL "bob" "example.com")) NIL NIL NIL "<m3@example.org>")')
BODY_6_1 = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1'

# (4) the closing boundary is missing: the last part runs to the end of
# the message (21 octets, 2 lines), as Dovecot parses it.
BROKEN = crlf(
    b"From: a@example.org",
    b"Subject: broken",
    b"MIME-Version: 1.0",
    b'Content-Type: multipart/mixed; boundary="brk"',
    b"",
    b"--brk",
    b"Content-Type: text/plain; charset=us-ascii",
    b"",
    b"part one",                # 10 octets, 1 line
    b"",
    b"--brk",
    b"Content-Type: text/plain; charset=us-ascii",
    b"",
    b"part two",
    b"truncated")
A = b'((NIL NIL "a" "example.org"))'
BROKEN_ENVELOPE = b'ENVELOPE (NIL "broken" ' + A + b" " + A + b" " + A + b" NIL NIL NIL NIL NIL)"
BROKEN_BODYSTRUCTURE = (
    b'BODYSTRUCTURE (('
    b'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)('
    b'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 2 NIL NIL NIL NIL)'
    b' "mixed" ("boundary" "brk") NIL NIL NIL)')
BROKEN_BODY = (
    b'BODY (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1)('
    b'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 2) "mixed")')

# (5) raw UTF-8 in Subject: 8-bit octets are not allowed in a quoted
# string (RFC 3501 section 9, QUOTED-CHAR is 7-bit), so a literal.
SUBJECT8 = "Grüße ✓".encode("utf-8")        # 11 octets
EIGHTBIT = crlf(
    b"From: u@example.org",
    b"Subject: " + SUBJECT8,
    b"Message-ID: <m5@example.org>",
    b"",
    b"body")
U = b'((NIL NIL "u" "example.org"))'
# imaplib hands the literal over as its own item; joined, "{11}" is
# directly followed by the 11 octets.
EIGHTBIT_ENVELOPE = (b"ENVELOPE (NIL {11}" + SUBJECT8 + b" " + U + b" " + U + b" " + U +
                     b' NIL NIL NIL NIL "<m5@example.org>")')

# (6) no Content-Type at all: text/plain; charset=us-ascii, 7bit.
PLAIN = crlf(
    b"From: plain@example.org",
    b"Subject: plain",
    b"Date: Sat, 20 Jul 1996 12:00:00 +0000",
    b"Message-ID: <m6@example.org>",
    b"",
    b"line one",
    b"line two",
    b"line three")               # 32 octets, 3 lines
P = b'((NIL NIL "plain" "example.org"))'
PLAIN_ENVELOPE = (b'ENVELOPE ("Sat, 20 Jul 1996 12:00:00 +0000" "plain" ' + P + b" " + P +
                  b" " + P + b' NIL NIL NIL NIL "<m6@example.org>")')
PLAIN_BODY = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 32 3'


class ImapBodystructureTest(StratusTestCase):

    def check(self, box, message, envelope, bodystructure, body):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login("user1@example.com", "pass1")
        self.assertEqual(m.create(box)[0], "OK")
        typ, data = m.append(box, None, None, message)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.select(box)[0], "OK")
        for items, expected in (("(ENVELOPE BODYSTRUCTURE)",
                                 b"1 (" + envelope + b" " + bodystructure + b")"),
                                ("(BODY)", b"1 (" + body + b")")):
            typ, data = m.fetch("1", items)
            self.assertEqual(typ, "OK", data)
            got = b"".join(d[0] + d[1] if isinstance(d, tuple) else d for d in data)
            self.assertEqual(got, expected)
        m.logout()

    def test_nested_multipart_with_attachment(self):
        self.check("Nested", NESTED, NESTED_ENVELOPE, NESTED_BODYSTRUCTURE, NESTED_BODY)

    def test_message_rfc822_attachment(self):
        self.check("Forward", FORWARD, FORWARD_ENVELOPE, FORWARD_BODYSTRUCTURE, FORWARD_BODY)

    def test_encoded_words_stay_undecoded(self):
        self.check("Encoded", ENCODED, ENCODED_ENVELOPE,
                   b"BODYSTRUCTURE " + BODY_6_1 + b" NIL NIL NIL NIL)", b"BODY " + BODY_6_1 + b")")

    def test_missing_closing_boundary(self):
        self.check("Broken", BROKEN, BROKEN_ENVELOPE, BROKEN_BODYSTRUCTURE, BROKEN_BODY)

    def test_8bit_subject_is_a_literal(self):
        self.check("EightBit", EIGHTBIT, EIGHTBIT_ENVELOPE,
                   b"BODYSTRUCTURE " + BODY_6_1 + b" NIL NIL NIL NIL)", b"BODY " + BODY_6_1 + b")")

    def test_no_content_type_defaults(self):
        self.check("Plain", PLAIN, PLAIN_ENVELOPE,
                   b"BODYSTRUCTURE " + PLAIN_BODY + b" NIL NIL NIL NIL)", b"BODY " + PLAIN_BODY + b")")


if __name__ == "__main__":
    main()
