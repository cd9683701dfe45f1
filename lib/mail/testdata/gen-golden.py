#!/usr/bin/env python3
"""Regenerates lib/mail/testdata/golden/*.golden from a real Dovecot.

usage: gen-golden.py HOST PORT USER PASS
Appends every msg/*.eml (sorted) to a fresh mailbox, FETCHes each item in
ITEMS one at a time and writes what Dovecot answered, byte for byte.
Golden format, per item:  "<item>\n<decimal length>\n<value bytes>\n"
where <value> is what follows the echoed item name in the FETCH response
(a quoted string, literal {n}\r\n..., NIL or a parenthesised list).
Made against Dovecot 2.3.19.1 (Debian 12), see recipes.md section 5.
"""
import os, re, socket, sys

ITEMS = ["ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.SIZE",
         "BODY[]", "BODY[HEADER]", "BODY[TEXT]",
         "BODY[HEADER.FIELDS (From To Subject)]",
         "BODY[HEADER.FIELDS.NOT (From subject)]",
         "BODY[1]", "BODY[1.MIME]", "BODY[1.HEADER]", "BODY[1.TEXT]",
         "BODY[2]", "BODY[2.MIME]", "BODY[2.HEADER]", "BODY[2.TEXT]",
         "BODY[1.1]", "BODY[1.2]", "BODY[1.1.MIME]", "BODY[2.1]",
         "BODY[2.2]", "BODY[2.2.MIME]", "BODY[3]", "BODY[3.MIME]",
         "BODY[4]", "BODY[1.HEADER.FIELDS (Content-Type)]",
         "BODY[2.HEADER.FIELDS (Subject)]", "BODY[]<5.20>",
         "BODY[TEXT]<0.3>", "BODY[1]<100.10>"]


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, int(port)))
        self.buf = b""
        self.tag = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def readn(self, n):
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def response(self):
        """One response line with its literals joined in."""
        out = b""
        while True:
            line = self.readline()
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return out
            out += self.readn(int(m.group(1)))

    def cmd(self, text, literal=None):
        self.tag += 1
        tag = b"a%d" % self.tag
        if literal is None:
            self.s.sendall(tag + b" " + text + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            assert self.readline().startswith(b"+")
            self.s.sendall(literal + b"\r\n")
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                if not r.startswith(tag + b" OK"):
                    raise RuntimeError(r)
                return untagged
            untagged.append(r)


def value_of(resp, item):
    m = re.match(rb"\* \d+ FETCH \(", resp)
    rest = resp[m.end():]
    if item.startswith("BODY["):
        i = rest.index(b"] ") + 2 if b"]<" not in rest[:rest.index(b" ")+80] \
            else rest.index(b"> ") + 2
    else:
        i = len(item) + 1
    assert rest.endswith(b")\r\n"), resp
    return rest[i:-3]


def main():
    host, port, user, pw = sys.argv[1:5]
    here = os.path.dirname(os.path.abspath(__file__))
    msgs = sorted(f for f in os.listdir(os.path.join(here, "msg"))
                  if f.endswith(".eml"))
    c = Conn(host, port)
    c.cmd(b"LOGIN " + user.encode() + b" " + pw.encode())
    box = b"golden-%d" % os.getpid()
    c.cmd(b"CREATE " + box)
    c.cmd(b"SELECT " + box)
    os.makedirs(os.path.join(here, "golden"), exist_ok=True)
    for seq, name in enumerate(msgs, 1):
        data = open(os.path.join(here, "msg", name), "rb").read()
        c.cmd(b"APPEND " + box, data)
        c.cmd(b"NOOP")
        out = b""
        for item in ITEMS:
            fetch = item.replace("BODY[", "BODY.PEEK[")
            r = [x for x in c.cmd(b"FETCH %d (%s)" % (seq, fetch.encode()))
                 if b" FETCH " in x]
            v = value_of(r[0], item)
            out += item.encode() + b"\n%d\n" % len(v) + v + b"\n"
        with open(os.path.join(here, "golden", name[:-4] + ".golden"),
                  "wb") as f:
            f.write(out)
    c.cmd(b"LOGOUT")


main()
