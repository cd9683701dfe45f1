"""svc-pop3 end to end with poplib against the real service set."""

import poplib
import socket

from stratus_harness import StratusTestCase, main


class Pop3ProtocolTest(StratusTestCase):
    def connect(self):
        return poplib.POP3("127.0.0.1", self.stratus.ports["pop3"], timeout=10)

    def test_greeting_and_capa(self):
        p = self.connect()
        self.assertTrue(p.getwelcome().startswith(b"+OK"))
        caps = p.capa()
        for cap in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER"):
            self.assertIn(cap, caps)
        self.assertIn("PLAIN", caps["SASL"])
        p.quit()

    def test_wrong_password_is_auth_error(self):
        p = self.connect()
        p.user("user1@example.com")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong")
        self.assertRegex(cm.exception.args[0], rb"^-ERR \[(AUTH|SYS/TEMP)\]")
        p.quit()

    def test_commands_in_wrong_state(self):
        with socket.create_connection(("127.0.0.1", self.stratus.ports["pop3"]), 10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"STAT\r\nRETR 1\r\nQUIT\r\n")
            self.assertEqual(f.readline(), b"-ERR Unknown command.\r\n")
            self.assertEqual(f.readline(), b"-ERR Unknown command.\r\n")
            self.assertEqual(f.readline(), b"+OK Logging out.\r\n")


if __name__ == "__main__":
    main()
