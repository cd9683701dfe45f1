"""LIST-METADATA (RFC 9590) against the real service set: LIST ... RETURN
(METADATA (...)) answers each listed mailbox that exists with its LIST
and then GETMETADATA's METADATA response for the entries asked for (NIL
when unset), in the shape of the RFC's section 4 exchange; the MAXSIZE
option leaves longer values out and reports [METADATA LONGENTRIES n] on
the tagged OK; together with STATUS and SUBSCRIBED; no METADATA for a
\\NonExistent subscription; the refusals (BAD) for malformed options and
entry names; then Python imaplib reading the untagged METADATA."""

import imaplib

from stratus_harness import StratusTestCase, main
from test_imap_metadata import Raw

USER = "lmeta@example.com"


class ImapListMetadataTest(StratusTestCase):
    users = {USER: "pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = Raw(cls.stratus.ports["imap"], USER)
        for box in ("Foo", "Bar"):
            r.cmd("CREATE %s" % box)
        r.cmd('SETMETADATA INBOX (/shared/comment "Shared comment")')
        r.cmd('SETMETADATA Foo (/private/comment "My own comment")')
        r.close()

    def raw(self):
        return Raw(self.stratus.ports["imap"], USER)

    def test_1_section4_exchange(self):
        r = self.raw()
        lines, _ = r.cmd("CAPABILITY")
        self.assertIn(b" LIST-METADATA", lines[0])
        lines, t = r.cmd('LIST "" % RETURN (METADATA (/shared/comment /private/comment))',
                         tag="A01")
        self.assertEqual(t, b"A01 OK List completed.\r\n")
        # whatever order the index lists in: each LIST is followed by
        # its METADATA
        self.assertEqual(len(lines), 6, lines)
        pairs = sorted((lines[i], lines[i + 1]) for i in range(0, 6, 2))
        self.assertEqual(pairs, [
            (b'* LIST (\\HasNoChildren) "/" Bar\r\n',
             b'* METADATA "Bar" (/shared/comment NIL /private/comment NIL)\r\n'),
            (b'* LIST (\\HasNoChildren) "/" Foo\r\n',
             b'* METADATA "Foo" (/shared/comment NIL /private/comment "My own comment")\r\n'),
            (b'* LIST (\\HasNoChildren) "/" INBOX\r\n',
             b'* METADATA "INBOX" (/shared/comment "Shared comment" /private/comment NIL)\r\n'),
        ])
        r.close()

    def test_2_maxsize(self):
        r = self.raw()
        big = b"y" * 2199
        r.s.sendall(b"b SETMETADATA Bar (/shared/comment {2199+}\r\n" + big + b")\r\n")
        _, t = r.collect("b")
        self.assertTrue(t.startswith(b"b OK"), t)
        lines, t = r.cmd('LIST "" Bar RETURN (METADATA (/shared/comment /private/comment '
                         'MAXSIZE 1024))', tag="A02")
        self.assertEqual(lines, [b'* LIST (\\HasNoChildren) "/" Bar\r\n',
                                 b'* METADATA "Bar" (/private/comment NIL)\r\n'])
        self.assertEqual(t, b"A02 OK [METADATA LONGENTRIES 2199] List completed.\r\n")
        # only the long entry asked for: no METADATA at all for Bar
        lines, t = r.cmd('LIST "" Bar RETURN (METADATA ((MAXSIZE 1024) (/shared/comment)))',
                         tag="A03")
        self.assertEqual(lines, [b'* LIST (\\HasNoChildren) "/" Bar\r\n'])
        self.assertEqual(t, b"A03 OK [METADATA LONGENTRIES 2199] List completed.\r\n")
        # large enough: the literal comes back whole
        lines, t = r.cmd('LIST "" Bar RETURN (METADATA (MAXSIZE 4096 /shared/comment))',
                         tag="A04")
        self.assertEqual(lines[1], b'* METADATA "Bar" (/shared/comment {2199}\r\n' + big + b")\r\n")
        self.assertEqual(t, b"A04 OK List completed.\r\n")
        r.cmd("SETMETADATA Bar (/shared/comment NIL)")
        r.close()

    def test_3_with_status_and_subscribed(self):
        r = self.raw()
        r.cmd("SUBSCRIBE Foo")
        r.cmd("CREATE Gone")
        r.cmd('SETMETADATA Gone (/private/comment "soon gone")')
        r.cmd("SUBSCRIBE Gone")
        r.cmd("DELETE Gone")
        lines, t = r.cmd('LIST (SUBSCRIBED) "" * RETURN (STATUS (MESSAGES) '
                         'METADATA (/private/comment))', tag="A05")
        self.assertTrue(t.startswith(b"A05 OK"), t)
        self.assertEqual(lines, [
            b'* LIST (\\Subscribed \\HasNoChildren) "/" Foo\r\n',
            b'* STATUS Foo (MESSAGES 0)\r\n',
            b'* METADATA "Foo" (/private/comment "My own comment")\r\n',
            b'* LIST (\\NonExistent \\Subscribed) "/" Gone\r\n',
        ])
        r.close()

    def test_4_refused(self):
        r = self.raw()
        for bad in ('RETURN (METADATA ())', 'RETURN (METADATA /shared/comment)',
                    'RETURN (METADATA)', 'RETURN (METADATA (/foo/bar))',
                    'RETURN (METADATA (/shared//x))', 'RETURN (METADATA (comment))',
                    'RETURN (METADATA (/shared/comment MAXSIZE))',
                    'RETURN (METADATA (/shared/comment MAXSIZE 0))',
                    'RETURN (METADATA (/shared/comment MAXSIZE x))',
                    'RETURN (METADATA (/shared/comment FOO 1))',
                    'RETURN (METADATA (/shared/comment) METADATA (/private/comment))',
                    'RETURN (METADATA (((/shared/comment))))'):
            _, t = r.cmd('LIST "" %% %s' % bad, tag="B")
            self.assertTrue(t.startswith(b"B BAD"), (bad, t))
        _, t = r.cmd('LSUB "" * RETURN (METADATA (/shared/comment))', tag="B")
        self.assertTrue(t.startswith(b"B BAD"), t)
        lines, t = r.cmd("NOOP")
        self.assertIn(b"OK", t)
        r.close()

    def test_5_imaplib(self):
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(USER, "pw")
        typ, data = m._simple_command("LIST", '""', "INBOX", "RETURN",
                                      "(METADATA (/shared/comment))")
        self.assertEqual(typ, "OK")
        typ, meta = m._untagged_response(typ, data, "METADATA")
        self.assertEqual(meta, [b'"INBOX" (/shared/comment "Shared comment")'])
        m.logout()


if __name__ == "__main__":
    main()
