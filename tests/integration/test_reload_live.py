"""Settings that change live on reload (issue 17 part 3): sieve_before and
submission_host in svc-lmtp (the next delivery runs the new global script
and its redirect goes to the new SMTP server, a real socket here), and the
quota rules in svc-quota (`stratusctl quota get` shows the new limit at
once). The reload log names them as applied, not as needing a restart; a
new quota rule that does not parse keeps the old rules."""

import json
import os
import re
import signal
import smtplib
import socket
import threading
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus, main

USER = "user1@example.com"


class SmtpSink:
    """A minimal SMTP server on loopback that keeps each message's data."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        data = None
        for line in f:
            if data is not None:
                if line in (b".\r\n", b".\n"):
                    self.messages.append(b"".join(data))
                    data = None
                    c.sendall(b"250 2.0.0 queued\r\n")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                data = []
                c.sendall(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                break
            elif verb == b"EHLO":
                c.sendall(b"250-sink\r\n250 8BITMIME\r\n")
            else:
                c.sendall(b"250 ok\r\n")
        c.close()

    def close(self):
        self.sock.close()


class ReloadLiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink1, cls.sink2 = SmtpSink(), SmtpSink()
        cls.stratus = st = Stratus()
        d = st.dir
        cls.script_a = os.path.join(d, "a.sieve")
        cls.script_b = os.path.join(d, "b.sieve")
        with open(cls.script_a, "w") as f:
            f.write('require "fileinto";\nfileinto "GlobalA";\n')
        with open(cls.script_b, "w") as f:
            f.write('redirect "fwd@example.net";\nkeep;\n')
        with open(st.config) as f:
            cls.base = f.read()
        cls.write(cls.script_a, cls.sink1.port, "1M")
        st.start()

    @classmethod
    def write(cls, script, port, storage):
        with open(cls.stratus.config, "w") as f:
            f.write(cls.base + f"""
lda_mailbox_autocreate = yes
submission_host = 127.0.0.1:{port}
mail_plugins = $mail_plugins quota
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve_before = {script}
  quota = count:User quota
  quota_rule = *:storage={storage}
}}
""")

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        cls.sink1.close()
        cls.sink2.close()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def deliver(self, subject):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.sendmail("a@example.net", [USER],
                       "Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nbody\r\n"
                       % (subject, subject))

    def messages(self, box):
        r = self.stratus.ctl("mailbox", "status", "-u", USER, "messages", box, check=False)
        m = re.search(r"messages=(\d+)", r.stdout)
        return int(m.group(1)) if m else 0

    def storage_limit(self):
        out = self.stratus.ctl("quota", "get", USER).stdout
        m = re.search(r"\tSTORAGE\t\d+\t(\d+)", out)
        return int(m.group(1))

    def test_sieve_submission_and_quota_change_live(self):
        self.deliver("one")
        self.assertEqual(self.messages("GlobalA"), 1)
        self.assertEqual(self.storage_limit(), 1024)
        at = len(self.stratus.read_log())
        self.write(self.script_b, self.sink2.port, "2M")
        self.stratus.ctl("reload")
        self.stratus.wait_log(r"lmtp: Info: reload: applied:.*plugin /sieve_before", start_at=at)
        self.stratus.wait_log(r"quota: Info: reload: quota rules re-read", start_at=at)
        log = self.stratus.read_log()[at:]
        self.assertRegex(log, r"lmtp: Info: reload: applied:.*submission_host")
        self.assertRegex(log, r"quota: Info: reload: applied: plugin /quota_rule")
        self.assertNotRegex(log, r"need a restart of stratus-lmtp[^\n]*(sieve_before|submission_host)")
        self.assertNotRegex(log, r"need a restart of stratus-quota[^\n]*quota_rule")
        # the new global script and submission_host serve the next delivery
        self.deliver("two")
        deadline = time.time() + 10
        while not self.sink2.messages and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.sink2.messages), 1)
        self.assertIn(b"<two@example.org>", self.sink2.messages[0])
        self.assertEqual(self.sink1.messages, [])
        self.assertEqual(self.messages("GlobalA"), 1)
        self.assertEqual(self.messages("INBOX"), 1)
        # and the new quota rule answers at once (also in doveadm's form)
        self.assertEqual(self.storage_limit(), 2048)
        rows = json.loads(self.stratus.ctl("quota", "get", "--json", "-u", USER).stdout)
        self.assertEqual([(r["user"], r["type"], r["limit"]) for r in rows if r["type"] == "STORAGE"],
                         [(USER, "STORAGE", 2048)])
        out = self.stratus.ctl("quota", "get", "-u", USER).stdout.splitlines()
        self.assertEqual(out[0], "Username\tQuota name\tType\tValue\tLimit\t%")
        self.assertRegex(out[1], r"^user1@example\.com\tUser quota\tSTORAGE\t\d+\t2048\t\d+$")
        # a rule that does not parse: refused by svc-quota, old rules kept
        at = len(self.stratus.read_log())
        pid = self.stratus.pid_of("quota")
        self.write(self.script_b, self.sink2.port, "lots")
        os.kill(pid, signal.SIGHUP)
        self.stratus.wait_log(r"quota: Error: reload: quota rules kept: ", start_at=at)
        self.assertEqual(self.storage_limit(), 2048)


if __name__ == "__main__":
    main()
