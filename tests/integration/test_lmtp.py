"""svc-lmtp end to end: the real service set, driven with smtplib.LMTP
and raw sockets (TCP and the UNIX socket)."""

import os
import smtplib
import socket
import unittest

from stratus_harness import StratusTestCase, main


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("connection closed; got %r" % lines)
        lines.append(line.decode())
        if line[3:4] != b"-":
            return "".join(lines)


class LmtpProtocolTest(StratusTestCase):
    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.stratus.ports["lmtp"]), 10)
        f = s.makefile("rb")
        self.assertTrue(read_reply(f).startswith("220 "))
        return s, f

    def test_lhlo_capabilities_over_tcp(self):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            code, _ = l.ehlo()
            self.assertEqual(code, 250)
            for cap in ("pipelining", "chunking", "enhancedstatuscodes", "8bitmime",
                        "size", "smtputf8"):
                self.assertTrue(l.has_extn(cap), cap)
            self.assertEqual(l.noop()[0], 250)
            self.assertEqual(l.rset()[0], 250)

    def test_unix_socket(self):
        path = os.path.join(self.stratus.run_dir, "lmtp")
        with smtplib.LMTP(path) as l:
            self.assertEqual(l.ehlo()[0], 250)

    def test_rcpt_lookup_answers_with_enhanced_code(self):
        # With the harness's `userdb static` every user exists (as in
        # Dovecot without a passdb check), so 250 is right here; an
        # unknown user of a real userdb must get 550 5.1.1.
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            self.assertEqual(l.mail("a@example.org")[0], 250)
            code, msg = l.rcpt("nobody@example.com")
            self.assertIn(code, (250, 550, 451))
            if code == 550:
                self.assertTrue(msg.startswith(b"5.1.1"), msg)

    def test_bad_sequence_and_long_line(self):
        s, f = self.connect()
        with s:
            s.sendall(b"MAIL FROM:<a@b>\r\n")
            self.assertTrue(read_reply(f).startswith("503 5.5.1"))
            s.sendall(b"X" * 10000 + b"\r\nNOOP\r\n")
            self.assertTrue(read_reply(f).startswith("500 5.5.2"))
            self.assertTrue(read_reply(f).startswith("250 2.0.0"))
            s.sendall(b"LHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\nQUIT\r\n")
            self.assertTrue(read_reply(f).startswith("250-"))
            self.assertTrue(read_reply(f).startswith("250 2.1.0"))
            self.assertTrue(read_reply(f).startswith("503 5.5.1"))
            self.assertTrue(read_reply(f).startswith("221 2.0.0"))


if __name__ == "__main__":
    main()
