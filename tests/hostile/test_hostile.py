"""Hostile-input catalogue (issue 16): every line of cases.tsv is one test.

A case names a protocol state, the bytes to send (a Python expression over
the helpers below, so 10 MB lines or 100,000 parentheses stay one line in
the table) and the exact refusal expected: a regular expression that must
match a line of what the service answered, optionally prefixed by CLOSED
(the service must close the connection) and followed by `| LOGREGEX` (a
line the services must have logged). After the bytes the runner sends a
harmless sentinel command and reads until its answer or the close, so the
whole answer to the case is what is matched. Each case checks that no
service process died or was restarted; the last test checks that every
service still answers `stratusctl status` with its original pid and that
no service's peak RSS grew past a bound.

Columns (tab separated): name, state, send, expect. States:
  imap / imapauth / imapsel    pre-login, logged in, INBOX selected
  pop3 / pop3auth              AUTHORIZATION, TRANSACTION (3 messages)
  lmtp / lmtpmail / lmtprcpt   after LHLO, after MAIL FROM, after RCPT TO
  sieve / sieveauth            ManageSieve before and after AUTHENTICATE
  sievescript                  send = a script, put with PUTSCRIPT
  mime                         send = a message, delivered over LMTP and
                               then FETCHed (BODYSTRUCTURE, BODY[1], ...)
  ldap                         send = a user name, IMAP LOGIN against a
                               service set whose passdb is a real slapd
"""

import os
import re
import shutil
import socket
import threading
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.environ.get("HOSTILE_CASES", os.path.join(HERE, "cases.tsv"))
USER, PASS = "user1@example.com", "pass1"
RSS_BOUND_KB = int(os.environ.get("HOSTILE_RSS_BOUND_KB", 768 * 1024))


def load_cases(path=CASES):
    cases = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 4:
                raise ValueError("%s:%d: want 4 tab-separated columns, got %d" % (path, n, len(cols)))
            cases.append((n, *cols))
    return cases


def expand(expr):
    """The send column: a Python expression giving bytes (b"..." * n)."""
    v = eval(expr, {"__builtins__": {}}, {"nest": nest, "lit": lit, "mp": nested_multipart,
                                          "hdrs": many_headers, "deep": deep_section,
                                          "ifs": nested_ifs, "ranges": seq_ranges, "big": big,
                                          "range": range, "len": len, "str": str})
    return v.encode("latin-1") if isinstance(v, str) else v


class Chunks:
    """Bytes too large to build in memory: a list of pieces, some repeated,
    written out by Conn one piece at a time. `bytes + Chunks` works."""

    def __init__(self, pieces):
        self.pieces = pieces      # [(bytes, count)]

    def __add__(self, other):
        return Chunks(self.pieces + (other.pieces if isinstance(other, Chunks) else [(other, 1)]))

    def __radd__(self, other):
        return Chunks([(other, 1)] + self.pieces)

    def __len__(self):
        return sum(len(b) * n for b, n in self.pieces)

    def write(self, sock):
        for b, n in self.pieces:
            block = b * max(1, (1 << 20) // max(1, len(b)))
            per = max(1, (1 << 20) // max(1, len(b)))
            while n >= per:
                sock.sendall(block)
                n -= per
            if n:
                sock.sendall(b * n)


def big(piece, count):
    """piece repeated count times, sent without being built (1 GB DATA)."""
    return Chunks([(piece, count)])


def nest(n, inner=b"x"):
    return b"(" * n + inner + b")" * n


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def seq_ranges(n):
    return b",".join(b"%d:%d" % (i * 2 + 1, i * 2 + 2) for i in range(n))


def deep_section(n):
    return b".".join(b"1" for _ in range(n))


def nested_multipart(depth):
    head = b"From: a@example.org\r\nSubject: nest\r\nMIME-Version: 1.0\r\n"
    parts = []
    for i in range(depth):
        parts.append(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i))
    body = b"Content-Type: text/plain\r\n\r\nleaf\r\n"
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + b"".join(parts) + body + tail


def many_headers(n):
    return (b"From: a@example.org\r\nSubject: many\r\n" +
            b"".join(b"X-H%d: v\r\n" % i for i in range(n)) + b"\r\nbody\r\n")


def nested_ifs(n):
    return (b'require "fileinto";\r\n' + b'if true {\r\n' * n + b'keep;\r\n' +
            b'}\r\n' * n)


class Conn:
    """One raw connection; send() writes from a thread so a service that
    refuses and closes mid-way does not block the reader."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.settimeout(10)
        self.buf = b""
        self.closed = False

    def send_async(self, data):
        def run():
            try:
                if isinstance(data, Chunks):
                    data.write(self.s)
                else:
                    self.s.sendall(data)
            except OSError:
                pass
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def read_until(self, done, timeout=20):
        deadline = time.time() + timeout
        while not done(self.buf):
            if time.time() > deadline:
                raise AssertionError("no answer in %ds; got %r" % (timeout, self.buf[-500:]))
            try:
                d = self.s.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                d = b""
            if not d:
                self.closed = True
                return self.buf
            self.buf += d
        return self.buf

    def exchange(self, data, done, timeout=20):
        start = len(self.buf)
        t = self.send_async(data)
        self.read_until(lambda b: done(b[start:]), timeout)
        t.join(0.5)
        return self.buf[start:]

    def close(self):
        self.s.close()


def imap_tag_done(tag):
    r = re.compile(rb"(?:^|\r\n)(?:%s|\* BYE)[^\r\n]*\r\n" % re.escape(tag))
    return lambda b: r.search(b) is not None


def line_done(prefixes):
    r = re.compile(rb"(?:^|\r\n)(?:%s)[^\r\n]*\r\n" % prefixes)
    return lambda b: r.search(b) is not None


POP3_SENTINEL_RE = re.compile(rb"\+OK[^\r\n]*\r\nCAPA\r\n(?:[^\r\n]*\r\n)*?\.\r\n")
LMTP_SENTINEL = b"ZZZSENTINEL\r\n"
LMTP_SENTINEL_RE = re.compile(rb"(?:^|\r\n)5\d\d 5\.5\.\d Unknown command[^\r\n]*\r\n")


class HostileBase(unittest.TestCase):
    """One service set for every case of the class."""

    stratus = None
    pids = {}
    states = ()

    @classmethod
    def services(cls):
        out = cls.stratus.ctl("status").stdout
        return {m.group(1): int(m.group(2))
                for m in re.finditer(r"^(\S+)\s+ok\s+pid (\d+)", out, re.M)}

    @classmethod
    def tearDownClass(cls):
        if cls.stratus is None:
            return
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def assert_alive(self, name):
        for svc, pid in self.pids.items():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "gone"
            self.assertNotIn(state, ("gone", "Z", "X"),
                             "%s: service %s (pid %d) died" % (name, svc, pid))

    # -- protocol states -------------------------------------------------
    def open_state(self, state):
        p = self.stratus.ports
        if state.startswith("imap"):
            c = Conn(p["imap"])
            c.read_until(line_done(rb"\* OK"))
            if state in ("imapauth", "imapsel"):
                r = c.exchange(b"L LOGIN %s %s\r\n" % (USER.encode(), PASS.encode()), imap_tag_done(b"L"))
                assert b"L OK" in r, r
            if state == "imapsel":
                r = c.exchange(b"S SELECT INBOX\r\n", imap_tag_done(b"S"))
                assert b"S OK" in r, r
            return c
        if state.startswith("pop3"):
            c = Conn(p["pop3"])
            c.read_until(line_done(rb"\+OK"))
            if state == "pop3auth":
                c.exchange(b"USER %s\r\n" % USER.encode(), line_done(rb"\+OK|-ERR"))
                r = c.exchange(b"PASS %s\r\n" % PASS.encode(), line_done(rb"\+OK|-ERR"))
                assert r.startswith(b"+OK"), r
            return c
        if state.startswith("lmtp"):
            c = Conn(p["lmtp"])
            c.read_until(line_done(rb"220 "))
            c.exchange(b"LHLO hostile.example.org\r\n", line_done(rb"250 "))
            if state in ("lmtpmail", "lmtprcpt"):
                r = c.exchange(b"MAIL FROM:<a@example.org>\r\n", line_done(rb"\d\d\d "))
                assert r.startswith(b"250"), r
            if state == "lmtprcpt":
                r = c.exchange(b"RCPT TO:<%s>\r\n" % USER.encode(), line_done(rb"\d\d\d "))
                assert r.startswith(b"250"), r
            return c
        if state.startswith("sieve"):
            c = Conn(p["sieve"])
            c.read_until(line_done(rb"OK|NO|BYE"))
            if state in ("sieveauth", "sievescript"):
                import base64
                token = base64.b64encode(b"\0%s\0%s" % (USER.encode(), PASS.encode()))
                r = c.exchange(b'AUTHENTICATE "PLAIN" "%s"\r\n' % token, line_done(rb"OK|NO|BYE"))
                assert r.startswith(b"OK"), r
            return c
        raise ValueError("unknown state " + state)

    def sentinel(self, state):
        if state.startswith("imap") or state == "ldap":
            return b"\r\nZZZ NOOP\r\n", imap_tag_done(b"ZZZ")
        if state.startswith("pop3"):
            return b"\r\nCAPA\r\n", lambda b: POP3_SENTINEL_RE.search(b) is not None
        if state.startswith("lmtp"):
            return b"\r\n" + LMTP_SENTINEL, lambda b: LMTP_SENTINEL_RE.search(b) is not None
        return b'\r\nNOOP "zzz"\r\n', line_done(rb'OK \(TAG "zzz"\)|BYE')

    # -- running one case ------------------------------------------------
    def run_case(self, lineno, name, state, send, expect):
        data = expand(send)
        want_closed = expect.startswith("CLOSED")
        expect = expect[len("CLOSED"):].strip() if want_closed else expect
        expect, _, log_re = (s.strip() for s in expect.partition(" | "))
        log_start = len(self.stratus.read_log())
        if state == "mime":
            answer = self.run_mime(data)
        elif state == "ldap":
            answer = self.run_ldap(data)
        else:
            c = self.open_state(state)
            try:
                if state == "sievescript":
                    data = b'PUTSCRIPT "hostile" ' + lit(data)
                tail, done = self.sentinel(state)
                answer = c.exchange(data + tail, done, timeout=max(30, len(data) >> 23))
                closed = c.closed
            finally:
                c.close()
            if want_closed:
                self.assertTrue(closed, "%s: connection not closed: %r" % (name, answer[-300:]))
        if os.environ.get("HOSTILE_RECORD"):  # prints what a new case got, to write its expectation
            print("\n%s:%d %s -> %r" % (CASES, lineno, name, answer[:600]))
        text = answer.decode("latin-1")
        self.assertRegex(text, re.compile(expect, re.M),
                         "%s (cases.tsv:%d): answer %r" % (name, lineno, text[:400]))
        if log_re:
            self.stratus.wait_log(log_re, timeout=5, start_at=log_start)
        self.assert_alive(name)

    def run_mime(self, message):
        c = self.open_state("lmtprcpt")
        try:
            r = c.exchange(b"DATA\r\n", line_done(rb"\d\d\d "))
            assert r.startswith(b"354"), r
            body = re.sub(rb"(?m)^\.", b"..", message)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            lmtp = c.exchange(body + b".\r\n", line_done(rb"\d\d\d "), timeout=30)
        finally:
            c.close()
        if not lmtp.startswith(b"250"):
            return b"LMTP: " + lmtp
        i = self.open_state("imapsel")
        try:
            fetch = i.exchange(b"F FETCH * (BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
                               b"\r\nZZZ NOOP\r\n", imap_tag_done(b"ZZZ"), timeout=30)
        finally:
            i.close()
        return b"LMTP: " + lmtp + b"IMAP: " + fetch

    def run_ldap(self, user):
        c = self.open_state("imap")
        try:
            return c.exchange(b"L LOGIN " + lit(user) + b" pass1\r\nZZZ NOOP\r\n",
                              imap_tag_done(b"ZZZ"), timeout=20)
        finally:
            c.close()

    def test_zzz_services_up_and_bounded(self):
        if self.stratus is None:
            self.skipTest("no service set")
        self.assertEqual(self.services(), self.pids, "a service was restarted")
        for svc, pid in self.pids.items():
            with open("/proc/%d/status" % pid) as f:
                hwm = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
            print("%s peak RSS %d kB" % (svc, hwm))
            self.assertLess(hwm, RSS_BOUND_KB, "%s peak RSS %d kB" % (svc, hwm))


def add_cases(cls, keep):
    for lineno, name, state, send, expect in load_cases():
        if not keep(state):
            continue
        def t(self, a=(lineno, name, state, send, expect)):
            self.run_case(*a)
        t.__doc__ = "%s [%s]" % (name, state)
        setattr(cls, "test_%03d_%s" % (lineno, re.sub(r"\W", "_", name)), t)


class HostileTest(HostileBase):
    EXTRA = "auth_failure_delay = 0\n"

    @classmethod
    def setUpClass(cls):
        cls.stratus = Stratus(cls.EXTRA).start()
        cls.pids = cls.services()
        # three messages for the POP3 cases
        c = Conn(cls.stratus.ports["lmtp"])
        c.read_until(line_done(rb"220 "))
        c.exchange(b"LHLO x\r\n", line_done(rb"250 "))
        for i in range(3):
            c.exchange(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % USER.encode(),
                       line_done(rb"354 "))
            r = c.exchange(b"Subject: m%d\r\n\r\nline one\r\nline two\r\n.\r\n" % i, line_done(rb"\d\d\d "))
            assert r.startswith(b"250"), r
        c.close()


add_cases(HostileTest, lambda s: s != "ldap")


@unittest.skipUnless(any(c[2] == "ldap" for c in load_cases()), "no ldap cases in cases.tsv yet")
@unittest.skipUnless(shutil.which("slapd") or os.path.exists("/usr/sbin/slapd"), "slapd not installed")
class LdapHostileTest(HostileBase):
    @classmethod
    def setUpClass(cls):
        from slapd_harness import Slapd
        cls.slapd = Slapd().start()
        conf = cls.slapd.ldap_conf(os.path.join(cls.slapd.dir, "dovecot-ldap.conf.ext"))
        auth = f"""passdb {{
  args = {conf}
  driver = ldap
}}
userdb {{
  driver = prefetch
}}
userdb {{
  args = {conf}
  driver = ldap
}}"""
        cls.stratus = Stratus("auth_failure_delay = 0\nauth_username_chars =\n", auth_config=auth).start()
        cls.pids = cls.services()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.slapd.cleanup()

    def test_zzz_filters_escaped(self):
        """No search slapd saw carries an unescaped metacharacter from a user name."""
        filters = self.slapd.searches_for("mailRoutingAddress=")
        self.assertTrue(filters)
        for f in filters:
            self.assertNotRegex(f, r"mailRoutingAddress=[^)\\]*[*(]", f)


add_cases(LdapHostileTest, lambda s: s == "ldap")
del HostileBase  # shared code only: not a test class of its own


if __name__ == "__main__":
    unittest.main(verbosity=2)
