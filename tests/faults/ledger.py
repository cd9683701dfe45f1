"""The fault suite's ledger and its load (issue 16 part 1).

Two kinds of worker thread drive a real service set while faults are
injected:
- an LMTP deliverer: one transaction per message, each with a unique
  Message-ID; a 250 after DATA is an acknowledgement;
- an IMAP worker: APPENDs (tagged OK with APPENDUID is an
  acknowledgement), then on its own acknowledged messages STORE \\Deleted
  + UID EXPUNGE, and UID MOVE to a second mailbox (COPYUID).

The ledger keeps every message's state: acknowledged (with its mailbox,
UID and UIDVALIDITY when known), unacknowledged (no reply, 4xx, NO: may
or may not exist), expunged with an acknowledgement (must never come
back), and "uncertain" for an operation whose answer was lost.

check() reads every mailbox through a fresh IMAP session and counts what
an operator cares about: acknowledged messages lost, messages present
more than once, acknowledged expunges come back, and UIDs that changed
while UIDVALIDITY did not."""

import re
import socket
import threading
import time

LITERAL_RE = re.compile(rb"\{(\d+)\}\r\n$")
MSGID_RE = re.compile(rb"(?im)^Message-ID:\s*<([^>]+)>")


class Closed(Exception):
    """The connection broke or timed out: the answer is unknown."""


class ImapClient:
    """A small IMAP client over a plain socket that reads literals in
    answers and sends APPEND bodies as LITERAL+ (no round trip)."""

    def __init__(self, port, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""
        self.tag = 0
        if not self.readline().startswith(b"* OK"):
            raise Closed("no greeting")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def readline(self):
        while b"\r\n" not in self.buf:
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                raise Closed(str(e))
            if not data:
                raise Closed("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                raise Closed(str(e))
            if not data:
                raise Closed("connection closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def command(self, text, literal=None):
        """Returns (status, tagged line, untagged responses); each untagged
        response is its bytes with literals inlined."""
        self.tag += 1
        tag = b"F%d" % self.tag
        data = tag + b" " + text.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        try:
            self.sock.sendall(data + b"\r\n")
        except OSError as e:
            raise Closed(str(e))
        untagged = []
        while True:
            line = self.readline()
            while True:
                m = LITERAL_RE.search(line)
                if not m:
                    break
                line += self.read_exact(int(m.group(1)))
                line += self.readline()
            if line.startswith(tag + b" "):
                status = line.split(b" ", 2)[1].decode()
                return status, line.decode("latin-1").strip(), untagged
            untagged.append(line)


def login(port, user, password, timeout=15):
    c = ImapClient(port, timeout)
    st, line, _ = c.command('LOGIN "%s" "%s"' % (user, password))
    if st != "OK":
        c.close()
        raise Closed("LOGIN: " + line)
    return c


def message(msgid, n):
    return (b"From: faults@example.org\r\nTo: user1@example.com\r\n"
            b"Subject: fault ledger %d\r\nMessage-ID: <%s>\r\n\r\n"
            b"body of %s\r\n" % (n, msgid.encode(), msgid.encode()))


class Ledger:
    """Every message the load sent and what the servers answered."""

    def __init__(self):
        self.lock = threading.Lock()
        # msgid -> {"state": acked|unacked|expunged|gone?, "box", "uid", "uidvalidity"}
        self.msgs = {}
        self.acked = 0
        self.refusals = {}        # first word of a refusal -> count
        self.samples = {}         # first word of a refusal -> its first text
        self.uid_seen = {}        # (box, uidvalidity, msgid) -> uid
        self.uidvalidity = {}     # box -> last UIDVALIDITY seen

    def record(self, msgid, state, **where):
        with self.lock:
            entry = self.msgs.setdefault(msgid, {"state": "unacked"})
            entry["state"] = state
            entry.update(where)
            if state == "acked" and not where.get("moved"):
                self.acked += 1

    def refusal(self, kind, text=""):
        with self.lock:
            self.refusals[kind] = self.refusals.get(kind, 0) + 1
            self.samples.setdefault(kind, text)

    def refusals_total(self):
        with self.lock:
            return sum(self.refusals.values())

    def snapshot(self):
        with self.lock:
            return {k: dict(v) for k, v in self.msgs.items()}


class Worker(threading.Thread):
    """A load thread that can be paused between two operations."""

    def __init__(self, ledger, ports, name):
        super().__init__(daemon=True, name=name)
        self.ledger = ledger
        self.ports = ports
        self.go = threading.Event()
        self.idle = threading.Event()
        self.stopping = False
        self.count = 0
        self.errors = 0
        self.seen_refusals = 0

    def pause(self, timeout=60):
        self.go.clear()
        if not self.idle.wait(timeout):
            raise AssertionError("%s did not pause" % self.name)

    def resume(self):
        self.idle.clear()
        self.go.set()

    def stop(self):
        self.stopping = True
        self.go.set()

    def run(self):
        while not self.stopping:
            if not self.go.is_set():
                self.disconnect()
                self.idle.set()
                self.go.wait()
                continue
            try:
                self.step()
            except Closed:
                self.errors += 1
                self.disconnect()
                time.sleep(0.1)
            if self.ledger.refusals_total() > self.seen_refusals:
                # a refused operation is retried after a pause, as a client would
                self.seen_refusals = self.ledger.refusals_total()
                time.sleep(0.05)
        self.disconnect()
        self.idle.set()


class LmtpWorker(Worker):
    def __init__(self, ledger, ports, rcpt, prefix="lmtp"):
        super().__init__(ledger, ports, prefix)
        self.rcpt = rcpt
        self.prefix = prefix
        self.sock = None
        self.f = None

    def disconnect(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = self.f = None

    def reply(self):
        while True:
            try:
                line = self.f.readline()
            except OSError as e:
                raise Closed(str(e))
            if not line:
                raise Closed("LMTP closed")
            if line[3:4] != b"-":
                return line.decode("latin-1").strip()

    def connect(self):
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.ports["lmtp"]), 20)
        except OSError as e:
            raise Closed(str(e))
        self.f = self.sock.makefile("rb")
        self.reply()
        self.sock.sendall(b"LHLO faults\r\n")
        if not self.reply().startswith("250"):
            raise Closed("LHLO")

    def step(self):
        if self.sock is None:
            self.connect()
        self.count += 1
        msgid = "%s-%d@faults.example" % (self.prefix, self.count)
        self.ledger.record(msgid, "unacked")
        try:
            self.sock.sendall(b"MAIL FROM:<faults@example.org>\r\n"
                              b"RCPT TO:<%s>\r\nDATA\r\n" % self.rcpt.encode())
        except OSError as e:
            raise Closed(str(e))
        replies = [self.reply() for _ in range(3)]
        if not replies[2].startswith("354"):
            bad = replies[1] if not replies[1].startswith("250") else replies[2]
            self.ledger.refusal(bad[:3], bad)
            self.sock.sendall(b"RSET\r\n")
            self.reply()
            return
        try:
            self.sock.sendall(message(msgid, self.count) + b".\r\n")
        except OSError as e:
            raise Closed(str(e))
        r = self.reply()
        if r.startswith("250"):
            self.ledger.record(msgid, "acked", box="INBOX")
        else:
            self.ledger.refusal(r[:3], r)


class ImapWorker(Worker):
    """APPEND to INBOX; every third acknowledged message is expunged and
    every fifth moved to Archive, by UID."""

    def __init__(self, ledger, ports, user, password, prefix="imap"):
        super().__init__(ledger, ports, prefix)
        self.user, self.password = user, password
        self.prefix = prefix
        self.c = None
        self.mine = []            # (msgid, uid) acknowledged in INBOX, not yet touched

    def disconnect(self):
        if self.c is not None:
            self.c.close()
        self.c = None

    def connect(self):
        try:
            self.c = login(self.ports["imap"], self.user, self.password)
        except OSError as e:
            raise Closed(str(e))
        st, line, _ = self.c.command("SELECT INBOX")
        if st != "OK":
            raise Closed("SELECT: " + line)

    def step(self):
        if self.c is None:
            self.connect()
        self.count += 1
        if self.count % 3 == 0 and self.mine:
            self.expunge(*self.mine.pop(0))
        elif self.count % 5 == 1 and self.mine:
            self.move(*self.mine.pop(0))
        else:
            self.append()

    def append(self):
        msgid = "%s-%d@faults.example" % (self.prefix, self.count)
        self.ledger.record(msgid, "unacked")
        st, line, _ = self.c.command("APPEND INBOX", message(msgid, self.count))
        m = re.search(r"\[APPENDUID (\d+) (\d+)\]", line)
        if st == "OK" and m:
            self.ledger.record(msgid, "acked", box="INBOX", uidvalidity=int(m.group(1)),
                               uid=int(m.group(2)))
            self.mine.append((msgid, int(m.group(2))))
        elif st == "OK":
            raise AssertionError("APPEND OK without APPENDUID: " + line)
        else:
            self.ledger.refusal("NO " + (re.findall(r"\[(\w+)", line) or ["-"])[0], line)

    def expunge(self, msgid, uid):
        # From here the outcome is uncertain until the tagged OK.
        self.ledger.record(msgid, "expunging")
        try:
            st, line, _ = self.c.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
            if st == "OK":
                st, line, _ = self.c.command("UID EXPUNGE %d" % uid)
        except Closed:
            raise
        if st == "OK":
            self.ledger.record(msgid, "expunged")
        else:
            self.ledger.refusal("NO " + (re.findall(r"\[(\w+)", line) or ["-"])[0], line)

    def move(self, msgid, uid):
        self.ledger.record(msgid, "moving")
        st, line, _ = self.c.command("UID MOVE %d Archive" % uid)
        m = None
        if st == "OK":
            for text in [line] + [u.decode("latin-1") for u in _]:
                m = m or re.search(r"\[COPYUID (\d+) \d+ (\d+)\]", text)
        if st == "OK" and m:
            self.ledger.record(msgid, "acked", box="Archive", uidvalidity=int(m.group(1)),
                               uid=int(m.group(2)), moved=True)
        elif st == "OK":
            raise AssertionError("MOVE OK without COPYUID: " + line)
        else:
            # A refused MOVE leaves the message where it was.
            self.ledger.record(msgid, "acked")
            self.ledger.refusal("NO " + (re.findall(r"\[(\w+)", line) or ["-"])[0], line)


def read_mailboxes(port, user, password, boxes=("INBOX", "Archive"), timeout=90):
    """{box: (uidvalidity, [(uid, msgid), ...])} through a fresh session,
    retried while the services come back."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        c = None
        try:
            c = login(port, user, password, timeout=30)
            out = {}
            for box in boxes:
                st, line, unt = c.command("SELECT " + box)
                if st != "OK":
                    raise Closed("SELECT %s: %s" % (box, line))
                uv = None
                for u in unt:
                    m = re.search(rb"\[UIDVALIDITY (\d+)\]", u)
                    if m:
                        uv = int(m.group(1))
                st, line, unt = c.command(
                    "UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                if st != "OK":
                    raise Closed("FETCH %s: %s" % (box, line))
                rows = []
                for u in unt:
                    m = re.search(rb"\bUID (\d+)", u)
                    ids = MSGID_RE.findall(u)
                    if m and b" FETCH " in u:
                        rows.append((int(m.group(1)), ids[0].decode() if ids else None))
                out[box] = (uv, rows)
            c.command("LOGOUT")
            return out
        except (Closed, OSError) as e:
            last = e
            time.sleep(0.5)
        finally:
            if c is not None:
                c.close()
    raise AssertionError("mailboxes not readable: %s" % last)


def check(ledger, boxes):
    """Counts against what the ledger says; returns a dict of counts and
    the details of each problem."""
    msgs = ledger.snapshot()
    where = {}
    for box, (uv, rows) in boxes.items():
        for uid, msgid in rows:
            where.setdefault(msgid, []).append((box, uid, uv))
    lost, dup, resurrected, uidchg, problems = 0, 0, 0, 0, []
    for msgid, places in where.items():
        if msgid is not None and len(places) > 1:
            dup += 1
            problems.append("duplicated %s at %s" % (msgid, places))
    with ledger.lock:
        for msgid, e in msgs.items():
            places = where.get(msgid, [])
            # a MOVE whose answer was lost still leaves the message somewhere
            if e["state"] in ("acked", "moving") and not places:
                lost += 1
                problems.append("lost %s (%s)" % (msgid, e))
            if e["state"] == "expunged" and places:
                resurrected += 1
                problems.append("resurrected %s at %s" % (msgid, places))
            # UIDs: the first UID seen (or acknowledged) in a mailbox at a
            # UIDVALIDITY must stay the message's UID there.
            if e["state"] == "acked" and e.get("uid") is not None:
                key = (e["box"], e.get("uidvalidity"), msgid)
                ledger.uid_seen.setdefault(key, e["uid"])
            for box, uid, uv in places:
                key = (box, uv, msgid)
                first = ledger.uid_seen.setdefault(key, uid)
                if first != uid:
                    uidchg += 1
                    problems.append("UID of %s in %s changed %d -> %d at UIDVALIDITY %s"
                                    % (msgid, box, first, uid, uv))
    return {"lost": lost, "duplicated": dup, "resurrected": resurrected,
            "uid_changes": uidchg, "problems": problems}
