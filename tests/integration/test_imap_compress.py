"""COMPRESS=DEFLATE (RFC 4978) against the real service set, driven as a
client would: Python zlib raw deflate (wbits -15) over a socket, and
Python imaplib with its reads and writes routed through zlib after the
COMPRESS command. The RFC's examples (section 3: plaintext, then after
STARTTLS), a repeated COMPRESS ([COMPRESSIONACTIVE]), a command sent in
the same packet as COMPRESS, a large FETCH compared byte for byte with
what was appended, IDLE getting EXISTS while compressed (the server
flushes at each response), bad deflate input and a highly compressed
over-long line closing only that connection."""

import imaplib
import os
import random
import shutil
import socket
import ssl
import tempfile
import time
import unittest
import zlib

from stratus_harness import SANITIZER_RE, main
from tls_harness import TlsStratus, client_context, make_ca, make_server_cert

USER, PASS = "user1@example.com", "pass1"
USER2, PASS2 = "user2@example.com", "pass2"


class Deflated:
    """A raw IMAP session that can switch to COMPRESS DEFLATE: lines and
    literals are read from the inflated stream once compression is on."""

    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(20)
        self.buf = b""
        self.inflate = None
        self.deflate = None
        self.wire_in = 0
        self.plain_in = 0
        self.n = 0

    def send(self, data):
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.wire_in += len(chunk)
        if self.inflate is not None:
            chunk = self.inflate.decompress(chunk)
        self.plain_in += len(chunk)
        self.buf += chunk

    def readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """One response line with its literals inline (bytes)."""
        line = self.readline()
        out = line
        while line.endswith(b"}\r\n") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1:-3])
            out += self.read(n)
            line = self.readline()
            out += line
        return out

    def cmd(self, text, tag=None):
        self.n += 1
        tag = tag or "t%d" % self.n
        self.send(("%s %s\r\n" % (tag, text)).encode())
        lines = []
        while True:
            r = self.response()
            if r.startswith(tag.encode() + b" "):
                return lines, r
            lines.append(r)

    def start_compress(self):
        """After a tagged OK to COMPRESS: both directions deflate, and
        what already arrived behind the OK is inflated."""
        self.inflate = zlib.decompressobj(-15)
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        rest, self.buf = self.buf, b""
        if rest:
            self.buf = self.inflate.decompress(rest)

    def close(self):
        self.s.close()


imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class CompressIMAP4(imaplib.IMAP4):
    """imaplib with COMPRESS=DEFLATE: after compress(), send() deflates
    and read()/readline() inflate (imaplib has no COMPRESS of its own)."""

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._z_in = zlib.decompressobj(-15)
            self._z_out = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._z_buf = b""
        return typ, data

    def _z_fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self._z_buf += self._z_in.decompress(chunk)

    def send(self, data):
        if getattr(self, "_z_out", None) is None:
            return super().send(data)
        self.sock.sendall(self._z_out.compress(data) + self._z_out.flush(zlib.Z_SYNC_FLUSH))

    def read(self, size):
        if getattr(self, "_z_in", None) is None:
            return super().read(size)
        while len(self._z_buf) < size:
            self._z_fill()
        data, self._z_buf = self._z_buf[:size], self._z_buf[size:]
        return data

    def readline(self):
        if getattr(self, "_z_in", None) is None:
            return super().readline()
        while b"\n" not in self._z_buf:
            self._z_fill()
        i = self._z_buf.index(b"\n") + 1
        line, self._z_buf = self._z_buf[:i], self._z_buf[i:]
        return line


def message(i, size):
    """A mail of about size bytes: text lines (compressible) with a
    random block (not compressible) in the middle."""
    rnd = random.Random(i)
    head = ("From: a@example.org\r\nTo: b@example.org\r\nSubject: msg %d\r\n"
            "Message-ID: <m%d@example.org>\r\n\r\n" % (i, i)).encode()
    lines = []
    n = 0
    while n < size:
        line = ("line %d of message %d: the quick brown fox jumps over the lazy dog\r\n"
                % (len(lines), i)).encode()
        lines.append(line)
        n += len(line)
    noise = "".join("%08x" % rnd.getrandbits(32) for _ in range(512)).encode()
    half = len(lines) // 2
    return head + b"".join(lines[:half]) + noise + b"\r\n" + b"".join(lines[half:])


class ImapCompressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="stratus-compress-")
        cls.ca = make_ca(cls.certs)
        make_server_cert(cls.certs, "server")
        # ssl = yes with plaintext login on loopback allowed: both forms
        # (plain COMPRESS, COMPRESS after STARTTLS) on one set.
        cls.stratus = TlsStratus(cert_dir=cls.certs,
                                 disable_plaintext_auth="no").start()
        cls.port = cls.stratus.ports["imap"]
        cls.ctx = client_context(cls.ca)

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        shutil.rmtree(cls.certs, ignore_errors=True)
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def connect(self, user=USER, password=PASS):
        c = Deflated(socket.create_connection(("127.0.0.1", self.port), 10))
        c.readline()
        _, tagged = c.cmd("LOGIN %s %s" % (user, password))
        self.assertTrue(tagged.startswith(b"t1 OK"), tagged)
        return c

    def compressed(self, user=USER, password=PASS):
        c = self.connect(user, password)
        _, tagged = c.cmd("COMPRESS DEFLATE", tag="z")
        self.assertEqual(tagged, b"z OK DEFLATE active\r\n")
        c.start_compress()
        return c

    def test_capability_after_login_only(self):
        c = Deflated(socket.create_connection(("127.0.0.1", self.port), 10))
        greeting = c.readline()
        self.assertNotIn(b"COMPRESS=DEFLATE", greeting)
        _, tagged = c.cmd("COMPRESS DEFLATE")
        self.assertTrue(tagged.startswith(b"t1 BAD"), tagged)
        _, tagged = c.cmd("LOGIN %s %s" % (USER, PASS))
        self.assertIn(b"COMPRESS=DEFLATE", tagged)
        c.close()

    def test_rfc_example_plain_then_repeated(self):
        # RFC 4978 section 3: "b OK DEFLATE active", then everything is
        # compressed; a second COMPRESS is NO [COMPRESSIONACTIVE].
        c = self.connect()
        _, tagged = c.cmd("COMPRESS DEFLATE", tag="b")
        self.assertEqual(tagged, b"b OK DEFLATE active\r\n")
        self.assertEqual(c.buf, b"")
        c.start_compress()
        before = c.wire_in
        lines, tagged = c.cmd("CAPABILITY", tag="c")
        self.assertTrue(lines[0].startswith(b"* CAPABILITY "), lines)
        self.assertTrue(tagged.startswith(b"c OK"), tagged)
        # what came was deflated: it does not contain the plain text
        self.assertGreater(c.wire_in, before)
        _, tagged = c.cmd("COMPRESS DEFLATE", tag="d")
        self.assertTrue(tagged.startswith(b"d NO [COMPRESSIONACTIVE]"), tagged)
        lines, tagged = c.cmd("SELECT INBOX", tag="e")
        self.assertTrue(tagged.startswith(b"e OK"), tagged)
        _, tagged = c.cmd("LOGOUT", tag="f")
        self.assertTrue(tagged.startswith(b"f OK"), tagged)
        c.close()

    def test_bad_arguments(self):
        c = self.connect()
        _, tagged = c.cmd("COMPRESS")
        self.assertTrue(tagged.startswith(b"t2 BAD"), tagged)
        _, tagged = c.cmd("COMPRESS LZMA")
        self.assertTrue(tagged.startswith(b"t3 NO"), tagged)
        _, tagged = c.cmd("COMPRESS DEFLATE DEFLATE")
        self.assertTrue(tagged.startswith(b"t4 BAD"), tagged)
        _, tagged = c.cmd("NOOP")
        self.assertTrue(tagged.startswith(b"t5 OK"), tagged)
        c.close()

    def test_rfc_example_after_starttls(self):
        # RFC 4978 section 3's first example: STARTTLS, then COMPRESS;
        # deflate runs inside TLS.
        raw = socket.create_connection(("127.0.0.1", self.port), 10)
        c = Deflated(raw)
        c.readline()
        _, tagged = c.cmd("STARTTLS", tag="a")
        self.assertTrue(tagged.startswith(b"a OK"), tagged)
        c.s = self.ctx.wrap_socket(raw, server_hostname="localhost")
        c.s.settimeout(20)
        _, tagged = c.cmd("LOGIN %s %s" % (USER, PASS), tag="l")
        self.assertTrue(tagged.startswith(b"l OK"), tagged)
        _, tagged = c.cmd("COMPRESS DEFLATE", tag="b")
        self.assertEqual(tagged, b"b OK DEFLATE active\r\n")
        c.start_compress()
        lines, tagged = c.cmd("SELECT INBOX", tag="c")
        self.assertTrue(tagged.startswith(b"c OK"), tagged)
        body = message(99, 20000)
        c.send(b"d APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
        r = c.response()
        while not r.startswith(b"d "):
            r = c.response()
        self.assertTrue(r.startswith(b"d OK"), r)
        lines, tagged = c.cmd("UID FETCH * (BODY.PEEK[])", tag="e")
        self.assertTrue(tagged.startswith(b"e OK"), tagged)
        self.assertIn(body, b"".join(lines))
        c.cmd("LOGOUT")
        c.close()

    def test_command_in_the_same_packet(self):
        # The client compresses from the first command after COMPRESS; if
        # that arrives in one read with COMPRESS, it is still inflated.
        c = self.connect()
        z = zlib.compressobj(6, zlib.DEFLATED, -15)
        c.s.sendall(b"z COMPRESS DEFLATE\r\n" + z.compress(b"n NOOP\r\n") +
                    z.flush(zlib.Z_SYNC_FLUSH))
        self.assertEqual(c.readline(), b"z OK DEFLATE active\r\n")
        c.start_compress()
        c.deflate = z
        r = c.response()
        self.assertTrue(r.startswith(b"n OK"), r)
        c.close()

    def test_large_fetch(self):
        m = imaplib.IMAP4("127.0.0.1", self.port)
        m.login(USER2, PASS2)
        m.create("big")
        bodies = [message(i, 150000 + i * 20000) for i in range(8)]
        for b in bodies:
            m.append("big", None, None, b)
        m.logout()
        c = self.compressed(USER2, PASS2)
        c.cmd("SELECT big")
        before_wire, before_plain = c.wire_in, c.plain_in
        t0 = time.monotonic()
        lines, tagged = c.cmd("FETCH 1:* (BODY.PEEK[])")
        elapsed = time.monotonic() - t0
        self.assertEqual(tagged.split()[1], b"OK", tagged)
        got = [l[l.index(b"}\r\n") + 3:] for l in lines]
        self.assertEqual(len(got), len(bodies))
        for body, line in zip(bodies, got):
            self.assertTrue(line.startswith(body), (len(body), len(line)))
        wire = c.wire_in - before_wire
        plain = c.plain_in - before_plain
        print("large FETCH: %d bytes inflated from %d on the wire (%.1fx) in %.2f s"
              % (plain, wire, plain / wire, elapsed))
        self.assertLess(wire * 2, plain)
        # and the connection goes on after the burst
        _, tagged = c.cmd("NOOP")
        self.assertEqual(tagged.split()[1], b"OK", tagged)
        c.close()

    def test_idle_gets_exists_while_compressed(self):
        m = imaplib.IMAP4("127.0.0.1", self.port)
        m.login(USER, PASS)
        m.create("idlebox")
        c = self.compressed()
        c.cmd("SELECT idlebox")
        c.send(b"i IDLE\r\n")
        self.assertTrue(c.readline().startswith(b"+ "))
        m.append("idlebox", None, None, b"Subject: idle\r\n\r\nhello\r\n")
        t0 = time.monotonic()
        line = c.readline()
        self.assertRegex(line, rb"^\* \d+ EXISTS\r\n$")
        self.assertLess(time.monotonic() - t0, 10)
        c.send(b"DONE\r\n")
        r = c.response()
        while not r.startswith(b"i "):
            r = c.response()
        self.assertTrue(r.startswith(b"i OK"), r)
        c.close()
        m.logout()

    def test_imaplib(self):
        m = CompressIMAP4("127.0.0.1", self.port)
        m.login(USER, PASS)
        typ, data = m.capability()
        self.assertIn(b"COMPRESS=DEFLATE", data[0].split())
        typ, data = m.compress()
        self.assertEqual((typ, data), ("OK", [b"DEFLATE active"]))
        m.create("libbox")
        body = message(7, 60000)
        typ, _ = m.append("libbox", None, None, body)
        self.assertEqual(typ, "OK")
        typ, _ = m.select("libbox")
        self.assertEqual(typ, "OK")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], body)
        typ, data = m.search(None, "TEXT", "fox")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = m._simple_command("COMPRESS", "DEFLATE")
        self.assertEqual(typ, "NO")
        self.assertIn("COMPRESSIONACTIVE", str(m.response("COMPRESSIONACTIVE")))
        m.logout()

    def test_bad_deflate_closes_only_that_connection(self):
        other = self.compressed()
        c = self.compressed()
        c.s.sendall(b"\xff" * 64)  # not a deflate block
        with self.assertRaises((EOFError, ConnectionResetError)):
            while True:
                c._fill()
        c.close()
        _, tagged = other.cmd("NOOP")
        self.assertTrue(tagged.startswith(b"t3 OK"), tagged)
        other.close()

    def test_bomb_line_is_bounded(self):
        # 64 MB of one line compressed to ~64 KB: the server inflates
        # only as fast as its bounded reader takes it, refuses the line
        # and goes on with the next command; its memory does not grow
        # with what the line inflates to.
        pid = self.stratus.pid_of("imap")
        rss_before = rss_kb(pid)
        c = self.compressed()
        z = c.deflate
        chunk = b"x" * (1 << 20)
        sent = 0
        try:
            for _ in range(64):
                data = z.compress(chunk)
                c.s.sendall(data)
                sent += len(data)
            data = z.flush(zlib.Z_SYNC_FLUSH)
            c.s.sendall(data)
            sent += len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        c.send(b"\r\nn NOOP\r\n")
        lines = []
        r = c.response()
        while not r.startswith(b"n "):
            lines.append(r)
            r = c.response()
        self.assertTrue(r.startswith(b"n OK"), r)
        self.assertTrue(any(b"BAD Too long" in l for l in lines), lines)
        grown = rss_kb(pid) - rss_before
        print("64 MB inflated line: %d KB on the wire, imap RSS grew %d KB"
              % (sent // 1024, grown))
        self.assertLess(grown, 32 * 1024)
        c.close()
        # the service is still there
        other = self.compressed()
        _, tagged = other.cmd("NOOP")
        self.assertTrue(tagged.startswith(b"t3 OK"), tagged)
        other.close()


if __name__ == "__main__":
    main()
