"""FETCH BODY[section]<partial> through svc-imap (RFC 3501 6.4.5): part
numbers in nested multiparts and an encapsulated message/rfc822,
HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT and MIME of parts, partial
ranges, and BODY[] setting \\Seen where BODY.PEEK[] does not. Every
expected value is a byte slice of the message as appended."""

import imaplib

from stratus_harness import StratusTestCase, main

INNER = (b"From: Carol <carol@example.net>\r\n"
         b"Subject: inner\r\n"
         b"\r\n"
         b"inner body\r\n")
HEADER = (b"From: Alice <alice@example.org>\r\n"
          b"To: Bob <bob@example.com>\r\n"
          b"Subject: sections\r\n"
          b"X-Extra: one\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=outer\r\n"
          b"\r\n")
PART1_MIME = b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
PART11_MIME = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
PART11 = b"plain text part"
PART12_MIME = b"Content-Type: text/html\r\n\r\n"
PART12 = b"<p>html part</p>"
PART1 = (b"--inner\r\n" + PART11_MIME + PART11 + b"\r\n"
         b"--inner\r\n" + PART12_MIME + PART12 + b"\r\n"
         b"--inner--\r\n")
PART2_MIME = b"Content-Type: message/rfc822\r\n\r\n"
BODY = (b"--outer\r\n" + PART1_MIME + PART1 + b"\r\n"
        b"--outer\r\n" + PART2_MIME + INNER + b"\r\n"
        b"--outer--\r\n")
MESSAGE = HEADER + BODY


class ImapSectionTest(StratusTestCase):
    def setUp(self):
        self.m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        self.m.login("user1@example.com", "pass1")
        box = "Sections%s" % self._testMethodName[-12:]
        self.assertEqual(self.m.create(box)[0], "OK")
        self.assertEqual(self.m.append(box, None, None, MESSAGE)[0], "OK")
        self.m.select(box)

    def tearDown(self):
        self.m.logout()

    def section(self, item):
        typ, data = self.m.fetch("1", "(%s)" % item)
        self.assertEqual(typ, "OK", data)
        self.assertIsInstance(data[0], tuple, data)
        return data[0][1]

    def test_whole_header_and_text(self):
        self.assertEqual(self.section("BODY.PEEK[]"), MESSAGE)
        self.assertEqual(self.section("BODY.PEEK[HEADER]"), HEADER)
        self.assertEqual(self.section("BODY.PEEK[TEXT]"), BODY)

    def test_header_fields_and_not(self):
        self.assertEqual(self.section("BODY.PEEK[HEADER.FIELDS (SUBJECT X-EXTRA)]"),
                         b"Subject: sections\r\nX-Extra: one\r\n\r\n")
        self.assertEqual(
            self.section("BODY.PEEK[HEADER.FIELDS.NOT (FROM TO MIME-VERSION CONTENT-TYPE)]"),
            b"Subject: sections\r\nX-Extra: one\r\n\r\n")
        # a field the message lacks: only the blank line
        self.assertEqual(self.section("BODY.PEEK[HEADER.FIELDS (CC)]"), b"\r\n")

    def test_nested_part_numbers_and_mime(self):
        self.assertEqual(self.section("BODY.PEEK[1]"), PART1)
        self.assertEqual(self.section("BODY.PEEK[1.1]"), PART11)
        self.assertEqual(self.section("BODY.PEEK[1.2]"), PART12)
        self.assertEqual(self.section("BODY.PEEK[1.1.MIME]"), PART11_MIME)
        self.assertEqual(self.section("BODY.PEEK[1.MIME]"), PART1_MIME)

    def test_encapsulated_message(self):
        self.assertEqual(self.section("BODY.PEEK[2]"), INNER)
        self.assertEqual(self.section("BODY.PEEK[2.HEADER]"),
                         b"From: Carol <carol@example.net>\r\nSubject: inner\r\n\r\n")
        self.assertEqual(self.section("BODY.PEEK[2.TEXT]"), b"inner body\r\n")
        self.assertEqual(self.section("BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]"),
                         b"Subject: inner\r\n\r\n")
        self.assertEqual(self.section("BODY.PEEK[2.MIME]"), PART2_MIME)

    def test_partial_ranges(self):
        typ, data = self.m.fetch("1", "(BODY.PEEK[1.1]<6.4>)")
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"BODY[1.1]<6>", data[0][0])
        self.assertEqual(data[0][1], PART11[6:10])
        # a start past the end gives an empty string
        typ, data = self.m.fetch("1", "(BODY.PEEK[TEXT]<100000.10>)")
        self.assertEqual(typ, "OK", data)
        # "" or the literal {0}: both are an empty string
        if isinstance(data[0], tuple):
            self.assertIn(b"BODY[TEXT]<100000> {0}", data[0][0])
            self.assertEqual(data[0][1], b"")
        else:
            self.assertIn(b'BODY[TEXT]<100000> ""', data[0])

    def test_body_sets_seen_peek_does_not(self):
        self.section("BODY.PEEK[1.2]")
        typ, data = self.m.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        typ, data = self.m.fetch("1", "(BODY[1.2])")
        self.assertEqual(typ, "OK", data)
        joined = b"".join(x if isinstance(x, bytes) else x[0] + x[1] for x in data)
        self.assertIn(b"\\Seen", joined)

    def test_bad_sections(self):
        for item in ("BODY.PEEK[0]", "BODY.PEEK[1.]", "BODY.PEEK[HEADER.FIELDS]",
                     "BODY.PEEK[TEXT]<5>", "BODY.PEEK[1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1]"):
            try:
                typ, data = self.m.fetch("1", "(%s)" % item)
            except imaplib.IMAP4.error as e:
                typ, data = "BAD", [str(e).encode()]
            if typ == "OK":
                # a part number beyond the structure is empty, never an error
                # (RFC 3501 leaves it to the server; Dovecot answers NIL/"")
                self.assertTrue(item.endswith(".1]"), (item, data))
            else:
                self.assertIn(typ, ("BAD", "NO"), (item, data))
        self.assertEqual(self.m.noop()[0], "OK")


if __name__ == "__main__":
    main()
