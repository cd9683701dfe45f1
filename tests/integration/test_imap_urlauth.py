"""URLAUTH (RFC 4467) with the IMAP URLs of RFC 5092 against the real
service set: GENURLAUTH of RFC 4467's example URL adapted to this server
(the keys are random, so the answer's structure is checked: the URL
given, ":INTERNAL:" and 40 hex digits of HMAC-SHA1), URLFETCH returning
the exact message bytes (whole, a section, a partial range), NIL for a
wrong token, an expired URL, a URL after RESETKEY, and for users the
access identifier does not name (user+ gives one other user, submit+ only
the imap_urlauth_submit_user, authuser anyone logged in); GENURLAUTH's
refusals; the key survives a restart and a cold open from the objects
(home gone); GETMETADATA never shows it; then Python imaplib."""

import imaplib
import os
import re
import shutil
import time

from stratus_harness import StratusTestCase, main
from test_imap_metadata import Raw

OWNER = "ua1@example.com"
FRIEND = "ua2@example.com"
STRANGER = "ua3@example.com"
SUBMIT = "submit@example.com"
ENC = {u: u.replace("@", "%40") for u in (OWNER, FRIEND, STRANGER, SUBMIT)}
BASE = "imap://%s@localhost/INBOX" % ENC[OWNER]

MESSAGE = (b"From: Joe <joe@example.com>\r\n"
           b"To: Fred <fred@example.com>\r\n"
           b"Subject: forward this\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
           b"\r\n"
           b"--b1\r\n"
           b"Content-Type: text/plain\r\n"
           b"\r\n"
           b"The first part.\r\n"
           b"--b1\r\n"
           b"Content-Type: text/plain\r\n"
           b"\r\n"
           b"The second part, to be forwarded.\r\n"
           b"--b1--\r\n")

TOKEN_RE = re.compile(rb'^\* GENURLAUTH "(.*):INTERNAL:([0-9a-f]{40})"\r\n$')


class ImapUrlauthTest(StratusTestCase):
    users = {OWNER: "pw", FRIEND: "pw", STRANGER: "pw", SUBMIT: "pw"}
    extra_config = ("imap_urlauth_host = *\n"
                    "imap_urlauth_submit_user = %s\n" % SUBMIT)

    def raw(self, user=OWNER):
        return Raw(self.stratus.ports["imap"], user)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = Raw(cls.stratus.ports["imap"], OWNER)
        r.s.sendall(b"a APPEND INBOX {%d+}\r\n" % len(MESSAGE) + MESSAGE + b"\r\n")
        _, t = r.collect("a")
        cls.uid = int(re.search(rb"APPENDUID (\d+) (\d+)", t).group(2))
        cls.uidvalidity = int(re.search(rb"APPENDUID (\d+)", t).group(1))
        r.close()

    def gen(self, url, user=OWNER):
        r = self.raw(user)
        lines, t = r.cmd('GENURLAUTH "%s" INTERNAL' % url, tag="g")
        r.close()
        self.assertTrue(t.startswith(b"g OK"), t)
        self.assertEqual(len(lines), 1, lines)
        m = TOKEN_RE.match(lines[0])
        self.assertIsNotNone(m, lines)
        self.assertEqual(m.group(1), url.encode())
        return (m.group(1) + b":INTERNAL:" + m.group(2)).decode()

    def fetch(self, url, user):
        """The data URLFETCH returned for url as user, None for NIL."""
        r = self.raw(user)
        lines, t = r.cmd('URLFETCH "%s"' % url, tag="f")
        r.close()
        self.assertTrue(t.startswith(b"f OK"), t)
        self.assertEqual(len(lines), 1, lines)
        head = b'* URLFETCH "%s" ' % url.encode()
        self.assertTrue(lines[0].startswith(head), lines)
        rest = lines[0][len(head):]
        if rest == b"NIL\r\n":
            return None
        m = re.match(rb"\{(\d+)\}\r\n", rest)
        self.assertIsNotNone(m, rest)
        data = rest[m.end():]
        self.assertTrue(data.endswith(b"\r\n"))
        self.assertEqual(len(data) - 2, int(m.group(1)))
        return data[:-2]

    def url(self, tail, access):
        return "%s;UIDVALIDITY=%d/;UID=%d%s;URLAUTH=%s" % (
            BASE, self.uidvalidity, self.uid, tail, access)

    def test_1_capability(self):
        r = Raw.__new__(Raw)
        import socket
        r.s = socket.create_connection(("127.0.0.1", self.stratus.ports["imap"]), 10)
        r.f = r.s.makefile("rb")
        greeting = r.f.readline()
        self.assertNotIn(b"URLAUTH", greeting)
        r.n = 0
        _, t = r.cmd("URLFETCH \"%s\"" % BASE, tag="x")
        self.assertTrue(t.startswith(b"x BAD") or t.startswith(b"x NO"), t)
        r.cmd("LOGIN %s pw" % OWNER)
        lines, _ = r.cmd("CAPABILITY")
        self.assertIn(b" URLAUTH", lines[0])
        r.close()

    def test_2_rfc4467_example_user_access(self):
        # RFC 4467 7's GENURLAUTH of "...;uid=20/;section=1.2;urlauth=
        # submit+fred", here for a message of ours and user+ a friend
        url = self.gen(self.url("", "user+" + ENC[FRIEND]))
        self.assertEqual(self.fetch(url, FRIEND), MESSAGE)
        self.assertIsNone(self.fetch(url, STRANGER))
        self.assertIsNone(self.fetch(url, OWNER))  # not the one named
        # a token one digit off, and one of another URL
        bad = url[:-1] + ("0" if url[-1] != "0" else "1")
        self.assertIsNone(self.fetch(bad, FRIEND))
        other = self.gen(self.url("/;SECTION=1", "user+" + ENC[FRIEND]))
        token = other.rsplit(":", 1)[1]
        self.assertIsNone(self.fetch(url.rsplit(":", 1)[0] + ":" + token, FRIEND))
        # the same rump signed twice gives the same token (one key)
        self.assertEqual(self.gen(self.url("", "user+" + ENC[FRIEND])), url)

    def test_3_sections_partial_submit_authuser(self):
        url = self.gen(self.url("/;SECTION=2", "submit+" + ENC[OWNER]))
        self.assertEqual(self.fetch(url, SUBMIT), b"The second part, to be forwarded.")
        self.assertIsNone(self.fetch(url, FRIEND))
        url = self.gen(self.url("/;PARTIAL=6.3", "authuser"))
        self.assertEqual(self.fetch(url, STRANGER), b"Joe")
        url = self.gen(self.url("/;SECTION=1/;PARTIAL=4.5", "anonymous"))
        self.assertEqual(self.fetch(url, FRIEND), b"first")
        # a UID that is not there: signed, but NIL
        missing = "%s/;UID=%d;URLAUTH=authuser" % (BASE, self.uid + 100)
        self.assertIsNone(self.fetch(self.gen(missing), FRIEND))

    def test_4_expire(self):
        past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        url = self.gen(self.url(";EXPIRE=" + past, "authuser"))
        self.assertIsNone(self.fetch(url, FRIEND))
        url = self.gen(self.url(";EXPIRE=" + future, "authuser"))
        self.assertEqual(self.fetch(url, FRIEND), MESSAGE)

    def test_5_genurlauth_refused(self):
        r = self.raw()
        ok = self.url("", "authuser")
        for args in ('"%s"' % ok,                                 # no mechanism
                     '"%s" XSHA1' % ok,                           # unknown one
                     '"%s" INTERNAL' % self.url("", "authuser").replace(
                         ENC[OWNER], ENC[FRIEND]),               # not ours
                     '"%s/;UID=1" INTERNAL' % BASE,               # no URLAUTH
                     '"%s:INTERNAL:%s" INTERNAL' % (ok, "0" * 40),  # signed
                     '"%s" INTERNAL' % ok.replace("INBOX", "Nosuch"),
                     '"%s" INTERNAL' % ok.replace(";UIDVALIDITY=%d" % self.uidvalidity,
                                                  ";UIDVALIDITY=%d" % (self.uidvalidity + 1)),
                     '"imap://host/INBOX/;UID=1;URLAUTH=authuser" INTERNAL',
                     '"/INBOX/;UID=1;URLAUTH=authuser" INTERNAL'):
            lines, t = r.cmd("GENURLAUTH " + args, tag="e")
            self.assertTrue(t.startswith(b"e NO") or t.startswith(b"e BAD"), (args, t))
            self.assertEqual(lines, [])
        # URLFETCH of what is not an authorized URL: NIL, the command OK
        for u in (ok, BASE, "nonsense", "imap://x@y/INBOX/;UID=1;URLAUTH=authuser:internal:00"):
            self.assertIsNone(self.fetch(u, FRIEND))
        _, t = r.cmd("RESETKEY INBOX XSHA1", tag="e")
        self.assertTrue(t.startswith(b"e NO"), t)
        _, t = r.cmd("RESETKEY Nosuch", tag="e")
        self.assertTrue(t.startswith(b"e NO"), t)
        # the key is no annotation: GETMETADATA does not see it
        lines, _ = r.cmd("GETMETADATA INBOX (DEPTH infinity) (/private /shared)")
        self.assertEqual(lines, [])
        r.close()

    def test_6_restart_and_cold_open(self):
        url = self.gen(self.url("/;SECTION=1", "user+" + ENC[FRIEND]))
        self.assertEqual(self.fetch(url, FRIEND), b"The first part.")
        st = self.stratus
        st.stop()
        st.start()
        self.assertEqual(self.fetch(url, FRIEND), b"The first part.")
        st.stop()
        shutil.rmtree(os.path.join(st.dir, "home"))
        st.start()
        self.assertEqual(self.fetch(url, FRIEND), b"The first part.")
        self.assertEqual(self.gen(self.url("/;SECTION=1", "user+" + ENC[FRIEND])), url)

    def test_7_resetkey(self):
        url = self.gen(self.url("", "authuser"))
        self.assertEqual(self.fetch(url, STRANGER), MESSAGE)
        r = self.raw()
        _, t = r.cmd("RESETKEY INBOX INTERNAL", tag="r")
        self.assertEqual(t, b"r OK RESETKEY completed.\r\n")
        r.close()
        self.assertIsNone(self.fetch(url, STRANGER))
        url2 = self.gen(self.url("", "authuser"))
        self.assertNotEqual(url2, url)
        self.assertEqual(self.fetch(url2, STRANGER), MESSAGE)
        r = self.raw()
        _, t = r.cmd("RESETKEY", tag="r")
        self.assertEqual(t, b"r OK RESETKEY completed.\r\n")
        r.close()
        self.assertIsNone(self.fetch(url2, STRANGER))

    def test_8_imaplib(self):
        url = self.gen(self.url("/;SECTION=2", "user+" + ENC[FRIEND]))
        imaplib.Commands.setdefault("URLFETCH", ("AUTH", "SELECTED"))
        m = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        m.login(FRIEND, "pw")
        typ, data = m._simple_command("URLFETCH", '"%s"' % url, '"%s"' % BASE)
        self.assertEqual(typ, "OK")
        typ, data = m._untagged_response(typ, data, "URLFETCH")
        # imaplib splits the literal: (line with the URL, the data), rest
        self.assertEqual(data[0][1], b"The second part, to be forwarded.")
        self.assertIn(b"NIL", data[1])
        m.logout()


if __name__ == "__main__":
    main()
