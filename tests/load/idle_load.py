"""IDLE load (issue 16 part 4): many IMAP connections held in IDLE with a
trickle of LMTP deliveries; RSS of every service flat, no descriptor leak.

A real service set (the plain build: RSS as in production) with 100
users; LOAD_CONNS connections (default 10,000) log in, SELECT INBOX and
IDLE, spread over the users. For LOAD_SECONDS (default 600) one message a
second is delivered to a random user, and every connection of that user
must see its "* N EXISTS". RSS (VmRSS) and open descriptors
(/proc/PID/fd) of every service are printed when all connections idle,
every minute, and at the end; then the connections close and the
descriptor counts must come back to what they were before.

Passes when: every connection reached IDLE and is still open at the end,
every delivery was seen by every connection of its user (its EXISTS
count reached SELECT's plus the deliveries to that user), each service's
RSS at the end is within 10 % + 8 MB of its RSS at the start, and each
service's descriptors after the close are within 8 of the count before
the connections were opened. `make load` runs it; LOAD_CONNS=1000
LOAD_SECONDS=30 is the short form."""

import os
import random
import re
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from stratus_harness import SANITIZER_RE, Stratus  # noqa: E402

CONNS = int(os.environ.get("LOAD_CONNS", 10000))
SECONDS = int(os.environ.get("LOAD_SECONDS", 600))
USERS = 100
SERVICES = ("auth", "index", "blob", "imap", "lmtp", "quota")


class Conn:
    """One IMAP connection driven by the selector: greeting, LOGIN,
    SELECT, IDLE, then counting EXISTS."""

    def __init__(self, port, user):
        self.user = user
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.buf = b""
        self.state = "greeting"
        self.base = None       # the EXISTS count SELECT gave
        self.last = 0          # the highest "* N EXISTS" since
        self.exists = 0        # EXISTS lines in IDLE
        self.closed = False

    def feed(self, data):
        self.buf += data
        while b"\r\n" in self.buf:
            line, self.buf = self.buf.split(b"\r\n", 1)
            self.line(line)

    def send(self, data):
        self.sock.send(data)   # a few bytes: the socket buffer takes them

    def line(self, line):
        if self.state == "greeting" and line.startswith(b"* OK"):
            self.state = "login"
            self.send(b"a LOGIN %s pass\r\n" % self.user.encode())
        elif self.state == "login" and line.startswith(b"a "):
            if not line.startswith(b"a OK"):
                raise AssertionError("%s: %r" % (self.user, line))
            self.state = "select"
            self.send(b"b SELECT INBOX\r\n")
        elif self.state == "select" and line.startswith(b"b "):
            self.state = "idle-wait"
            self.send(b"c IDLE\r\n")
        elif self.state == "select" and re.match(rb"\* \d+ EXISTS", line):
            self.base = self.last = int(line.split()[1])
        elif self.state == "idle-wait" and line.startswith(b"+"):
            self.state = "idle"
        elif self.state == "idle" and re.match(rb"\* \d+ EXISTS", line):
            self.exists += 1
            self.last = max(self.last, int(line.split()[1]))

    def missed(self, sent):
        """Messages delivered to this user that its EXISTS count does not
        show yet. Two deliveries close together may come as one EXISTS
        that counts both (RFC 3501 7.3.1 gives the new size, not one line
        per message), so the count is compared, not the lines."""
        return (self.base or 0) + sent - self.last


def service_pids(st):
    """The pids, asked once: a status RPC during the load would measure
    how fast a loaded service answers it (5 s bound), which is not what
    this test is about; /proc answers for the same processes."""
    return {name: st.pid_of(name) for name in SERVICES}


def service_stats(pids):
    out = {}
    for name in SERVICES:
        pid = pids[name]
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        out[name] = (pid, rss, len(os.listdir("/proc/%d/fd" % pid)))
    return out


def print_stats(label, stats):
    print("%-12s " % label + "  ".join("%s rss %d kB fds %d" % (n, s[1], s[2])
                                      for n, s in stats.items()), flush=True)


def pump(sel, timeout):
    for key, _ in sel.select(timeout):
        c = key.data
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            c.closed = True
            sel.unregister(c.sock)
            continue
        c.feed(data)


def deliver(port, user, n):
    s = socket.create_connection(("127.0.0.1", port), 30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"LHLO load\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(b"MAIL FROM:<load@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % user.encode())
    for _ in range(3):
        f.readline()
    s.sendall(b"Subject: trickle %d\r\n\r\nbody\r\n.\r\nQUIT\r\n" % n)
    r = f.readline()
    s.close()
    if not r.startswith(b"250"):
        raise AssertionError("delivery to %s: %r" % (user, r))


def main():
    users = {"load%d@example.com" % i: "pass" for i in range(USERS)}
    st = Stratus("mail_max_userip_connections = 100000\nauth_failure_delay = 0\n",
                 protocols="imap lmtp", users=users).start()
    failures = []
    try:
        sel = selectors.DefaultSelector()
        names = sorted(users)
        # Warm-up: every user loaded once (svc-index keeps a loaded user's
        # files open), so "before" counts what stays, not what leaks.
        warm = []
        for u in names:
            c = Conn(st.ports["imap"], u)
            warm.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
        deadline = time.time() + 60
        while any(c.state != "idle" and not c.closed for c in warm) and time.time() < deadline:
            pump(sel, 0.2)
        for c in warm:
            if not c.closed:
                sel.unregister(c.sock)
            c.sock.close()
        deliver(st.ports["lmtp"], names[0], -1)
        time.sleep(2)
        pids = service_pids(st)
        before = service_stats(pids)
        print_stats("before", before)
        conns = []
        t0 = time.time()
        # Open in batches so the listen backlog and the auth service are
        # not handed 10,000 handshakes at once.
        for i in range(CONNS):
            c = Conn(st.ports["imap"], names[i % USERS])
            conns.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
            if i % 200 == 199:
                deadline = time.time() + 60
                while sum(1 for x in conns if x.state != "idle" and not x.closed) > 0 \
                        and time.time() < deadline:
                    pump(sel, 0.2)
        deadline = time.time() + 120
        while any(c.state != "idle" and not c.closed for c in conns) and time.time() < deadline:
            pump(sel, 0.2)
        idle = sum(1 for c in conns if c.state == "idle")
        print("%d of %d connections in IDLE after %.1f s" % (idle, CONNS, time.time() - t0),
              flush=True)
        if idle != CONNS:
            failures.append("only %d of %d connections reached IDLE" % (idle, CONNS))
        start = service_stats(pids)
        print_stats("all idle", start)
        sent = {u: 0 for u in names}
        t1 = time.time()
        n = 0
        next_stats = t1 + 60
        while time.time() - t1 < SECONDS:
            user = random.choice(names)
            deliver(st.ports["lmtp"], user, n)
            sent[user] += 1
            n += 1
            end_of_second = time.time() + 1.0
            while time.time() < end_of_second:
                pump(sel, 0.1)
            if time.time() > next_stats:
                print_stats("%4.0f s" % (time.time() - t1), service_stats(pids))
                next_stats += 60
        deadline = time.time() + 15
        while time.time() < deadline and any(
                c.missed(sent[c.user]) > 0 for c in conns if not c.closed):
            pump(sel, 0.2)
        end = service_stats(pids)
        print_stats("end", end)
        closed = sum(1 for c in conns if c.closed)
        missed = sum(1 for c in conns if c.missed(sent[c.user]) > 0)
        merged = sum(1 for c in conns if c.exists < sent[c.user] and not c.missed(sent[c.user]))
        print("%d deliveries; %d connections closed by the server; %d missed an EXISTS; "
              "%d saw two or more deliveries in one EXISTS" % (n, closed, missed, merged))
        if closed:
            failures.append("%d connections were closed" % closed)
        if missed:
            failures.append("%d connections missed an EXISTS" % missed)
        for name in SERVICES:      # a restarted service has a new pid
            if not os.path.exists("/proc/%d" % pids[name]):
                failures.append("%s restarted" % name)
            if end[name][1] > start[name][1] * 1.10 + 8192:
                failures.append("%s RSS grew %d -> %d kB" % (name, start[name][1], end[name][1]))
        for c in conns:
            c.sock.close()
        time.sleep(5)
        after = service_stats(pids)
        print_stats("after close", after)
        if service_pids(st) != pids:
            failures.append("a service restarted (status after the close)")
        for name in SERVICES:
            if after[name][2] > before[name][2] + 8:
                failures.append("%s descriptors %d before, %d after the close"
                                % (name, before[name][2], after[name][2]))
    finally:
        text = st.cleanup()
    m = SANITIZER_RE.search(text)
    if m:
        failures.append("sanitizer: " + text[m.start():m.start() + 2000])
    for f in failures:
        print("FAIL: " + f)
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
