"""svc-quota through real LMTP deliveries and IMAP expunges: 100 concurrent
deliveries to one user near the limit end within one message of it; the
warnings (95%, 100% and the `-storage=100%%` below rule) each run exactly
once per crossing with the right arguments; recalc after the index files
are gone matches; malformed userdb rules are logged and the delivery goes
on; warning scripts that hang, fail or do not exist are logged and never
hold a delivery."""

import imaplib
import os
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import threading
import time

from stratus_harness import SRC, STRATUSCTL, Stratus, StratusTestCase, main

KIB = 1024
WARN = "warn@example.com"        # storage=100k: the warning crossings
CROWD = "crowd@example.com"      # storage=100k: 100 concurrent deliveries
SLOW = "slow-hang@example.com"   # its warning script never ends
FAILING = "fail@example.com"     # its warning script exits 3
MISSING = "missing@example.com"  # crosses messages=40: no such script
BAD_RULES = {
    "bad-abc@example.com": "*:storage=abc",
    "bad-bytes@example.com": "*:bytes=10G",
    "bad-negative@example.com": "*:storage=-5",
    "bad-unit@example.com": "*:storage=10X",
}
LIMIT = 100 * KIB


def message(size, subject="quota"):
    """An LMTP message of about `size` bytes (CRLF endings)."""
    head = ("From: a@example.org\r\nTo: rcpt@example.com\r\n"
            "Subject: %s\r\n\r\n" % subject).encode()
    line = b"x" * 76 + b"\r\n"
    body = line * max(0, (size - len(head)) // len(line))
    return head + body


def bytes_of_body(size):
    return len(message(size))


class QuotaLmtpTest(StratusTestCase):
    @classmethod
    def setUpClass(cls):
        users = {WARN: "pw", CROWD: "pw", SLOW: "pw", FAILING: "pw", MISSING: "pw"}
        users.update({u: "pw" for u in BAD_RULES})
        cls.stratus = st = Stratus(users=users)
        d = st.dir
        cls.warn_log = os.path.join(d, "warnings.log")
        script = os.path.join(d, "warn.sh")
        # The script appends its arguments; two users make it misbehave.
        with open(script, "w") as f:
            f.write("#!/bin/sh\n"
                    "case \"$2\" in\n"
                    "  slow-hang@*) echo hanging; exec sleep 600 ;;\n"
                    "  fail@*) echo failing on purpose >&2; exit 3 ;;\n"
                    "esac\n"
                    "echo \"$@\" >> %s\necho warned \"$@\"\n" % cls.warn_log)
        os.chmod(script, stat.S_IRWXU)
        with open(st.users_file, "w") as f:
            for user in (WARN, CROWD, SLOW, FAILING):
                f.write("%s:{PLAIN}pw::::::userdb_quota_rule=*:storage=100k\n" % user)
            f.write("%s:{PLAIN}pw::::::userdb_quota_rule=*:storage=100M\n" % MISSING)
            for user, rule in BAD_RULES.items():
                f.write("%s:{PLAIN}pw::::::userdb_quota_rule=%s\n" % (user, rule))
        with open(st.config) as f:
            conf = f.read()
        conf = conf.replace("userdb {\n  driver = static",
                            "userdb {\n  driver = passwd-file\n  args = %s\n}\n"
                            "userdb {\n  driver = static" % st.users_file, 1)
        with open(st.config, "w") as f:
            f.write(conf)
            f.write(f"""
mail_plugins = $mail_plugins quota
protocol imap {{
  mail_plugins = $mail_plugins imap_quota
}}
plugin {{
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_vsizes = yes
  quota_warning = storage=100%% quota-warning 100 %u
  quota_warning2 = storage=95%% quota-warning 95 %u
  quota_warning3 = -storage=100%% quota-warning below %u
  quota_warning4 = messages=40 quota-missing %u
}}
service quota-warning {{
  executable = script {script}
  unix_listener quota-warning {{
  }}
}}
service quota-missing {{
  executable = script {d}/no-such-script.sh
}}
""")
        st.start()

    # ---- helpers ----

    def deliver(self, user, msg):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            l.mail("a@example.org")
            code, text = l.rcpt(user)
            if code != 250:
                return code, text
            try:
                return l.data(msg)
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error

    def usage(self, user, verb="get"):
        out = self.stratus.ctl("quota", verb, user).stdout
        m = re.search(r"STORAGE\t(\d+)\t(\d+)\t(\d+)\t(\d+)", out)
        self.assertIsNotNone(m, out)
        m2 = re.search(r"MESSAGE\t(\d+)\t(\d+)", out)
        self.assertIsNotNone(m2, out)
        return int(m.group(3)), int(m.group(4)), int(m2.group(1))

    def fresh_usage(self, user):
        time.sleep(1.1)  # past svc-quota's usage TTL
        return self.usage(user)

    def warnings(self):
        if not os.path.exists(self.warn_log):
            return []
        with open(self.warn_log) as f:
            return f.read().splitlines()

    def wait_done(self, n, user):
        """Waits until n warning runs for user finished (done or failed)."""
        pat = re.compile(r"\(%s\).*quota-warning [^:]+: (done|failed)" % re.escape(user))
        deadline = time.time() + 15
        while time.time() < deadline:
            if len(pat.findall(self.stratus.read_log())) >= n:
                return
            time.sleep(0.05)
        self.fail("%d warning runs for %s did not finish:\n%s" % (n, user, self.stratus.read_log()[-3000:]))

    # ---- tests (run in name order: the hang check before the restart) ----

    def test_1_start_hanging_script(self):
        # Crosses 95% and 100% of 100k in one delivery: the 100% command
        # runs and hangs; its timeout is checked by test_6.
        self.__class__.hang_started = time.time()
        self.assertEqual(self.deliver(SLOW, message(LIMIT + 2 * KIB))[0], 250)
        self.stratus.wait_log(r"\(%s\).*quota warning: running quota-warning 100 " % re.escape(SLOW))
        # A delivery while the script hangs is not held up.
        t0 = time.time()
        self.assertEqual(self.deliver(SLOW, message(500))[0], 552)
        self.assertEqual(self.deliver(CROWD, message(500))[0], 250)
        self.assertLess(time.time() - t0, 20)

    def test_2_warnings_once_per_crossing_and_below_after_expunge(self):
        # Land at ~90%, then ~97% (crosses 95%), then ~102% (crosses 100%,
        # allowed by the default 10% quota_grace), measuring the real
        # stored size (trace headers) after each step.
        first = int(LIMIT * 0.90)
        self.assertEqual(self.deliver(WARN, message(first, "one"))[0], 250)
        used = self.fresh_usage(WARN)[0]
        overhead = used - bytes_of_body(first)
        self.assertEqual(self.warnings(), [])
        for target, subject in ((0.97, "two"), (1.02, "three")):
            size = int(LIMIT * target) - used - overhead
            self.assertEqual(self.deliver(WARN, message(size, subject))[0], 250)
            used = self.fresh_usage(WARN)[0]
            self.assertAlmostEqual(used / LIMIT, target, delta=0.005)
        self.wait_done(2, WARN)
        self.assertEqual(self.warnings(), ["95 " + WARN, "100 " + WARN])
        self.assertRegex(self.stratus.read_log(), r"quota-warning .*: warned 100 " + re.escape(WARN))
        # Over the limit: refused, and no warning runs again.
        code, text = self.deliver(WARN, message(500))
        self.assertEqual(code, 552, text)
        # IMAP EXPUNGE of the third message brings usage under 100%.
        imap = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        imap.login(WARN, "pw")
        imap.select("INBOX")
        typ, data = imap.search(None, "SUBJECT", "three")
        self.assertEqual(typ, "OK")
        imap.store(data[0].decode(), "+FLAGS", "\\Deleted")
        self.assertEqual(imap.expunge()[0], "OK")
        imap.logout()
        self.wait_done(3, WARN)
        self.assertEqual(self.warnings(), ["95 " + WARN, "100 " + WARN, "below " + WARN])
        self.assertAlmostEqual(self.fresh_usage(WARN)[0] / LIMIT, 0.97, delta=0.005)
        # Deliveries go on below the limit; no crossing, no new run.
        self.assertEqual(self.deliver(WARN, message(500))[0], 250)
        time.sleep(1.5)
        self.assertEqual(len(self.warnings()), 3)

    def test_3_concurrent_deliveries_end_within_one_message(self):
        base = self.usage(CROWD, "recalc")[0]
        prefill = int(LIMIT * 0.8) - base
        self.assertEqual(self.deliver(CROWD, message(prefill))[0], 250)
        before, limit, msgs_before = self.usage(CROWD, "recalc")
        self.assertEqual(limit, LIMIT)
        one = message(1000)
        results = []
        lock = threading.Lock()
        start = threading.Barrier(100)

        def one_delivery():
            start.wait()
            r = self.deliver(CROWD, one)
            with lock:
                results.append(r[0])

        threads = [threading.Thread(target=one_delivery) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(results), 100)
        self.assertEqual(set(results) - {250, 552}, set(), results)
        accepted = results.count(250)
        # A recount from the index, once the last Commits (sent before
        # their 250s, on svc-lmtp's connection) have been read.
        time.sleep(0.5)
        after, _, msgs_after = self.usage(CROWD, "recalc")
        size = (after - before) // max(1, accepted)
        self.assertEqual(msgs_after - msgs_before, accepted)
        self.assertGreater(results.count(552), 0)
        # Within one message of the limit, never more than one over.
        self.assertGreater(after, LIMIT - size)
        self.assertLessEqual(after, LIMIT + size)
        # The count backend's answer agrees with the recount.
        self.assertEqual(self.usage(CROWD)[0], after)

    def test_4_bad_userdb_rules_are_logged_and_delivery_goes_on(self):
        for user, rule in BAD_RULES.items():
            code, text = self.deliver(user, message(2000))
            self.assertEqual(code, 250, (user, text))
            value = rule.split("=", 1)[1]
            self.stratus.wait_log(r"\(%s\).*quota: userdb quota_rule: invalid quota "
                                  r"(value|rule) '[^']*%s'" % (re.escape(user), re.escape(value)))
            # The user keeps the configured rule (1G).
            self.assertEqual(self.usage(user)[1], 1 << 30)

    def test_5_failing_and_missing_scripts_are_logged(self):
        self.assertEqual(self.deliver(FAILING, message(LIMIT + 2 * KIB))[0], 250)
        self.stratus.wait_log(r"\(%s\).*quota-warning .*warn\.sh: failing on purpose" % re.escape(FAILING))
        self.stratus.wait_log(r"\(%s\).*quota-warning .*warn\.sh: failed \(exit status 3\)"
                              % re.escape(FAILING))
        for i in range(40):
            self.assertEqual(self.deliver(MISSING, message(300, "m%d" % i))[0], 250)
        self.stratus.wait_log(r"\(%s\).*quota-warning .*no-such-script\.sh: exec .*No such file"
                              % re.escape(MISSING))
        self.stratus.wait_log(r"\(%s\).*quota-warning .*no-such-script\.sh: failed \(exit status 127\)"
                              % re.escape(MISSING))
        self.assertEqual(self.deliver(MISSING, message(300))[0], 250)
        self.assertNotIn(FAILING, " ".join(self.warnings()))

    def test_6_hanging_script_was_killed_after_timeout(self):
        pat = r"\(%s\).*quota-warning .*warn\.sh: timed out after \d+ ms; killing it" % re.escape(SLOW)
        log = self.stratus.read_log()
        if not re.search(pat, log):
            # Started in test_1; the timeout is 30 s.
            wait = max(1, 40 - (time.time() - self.hang_started))
            self.stratus.wait_log(pat, timeout=wait)
        self.stratus.wait_log(r"\(%s\).*quota-warning .*warn\.sh: failed \(signal 9\)" % re.escape(SLOW))

    def test_7_recalc_after_index_files_are_gone(self):
        st = self.stratus
        before = self.usage(WARN, "recalc")
        st.stop()
        shutil.rmtree(os.path.join(st.dir, "home"))
        for d, _, files in os.walk(os.path.join(st.dir, "objects")):
            for f in files:
                if f == "index.bundle":
                    os.unlink(os.path.join(d, f))
        st.start()
        self.assertEqual(self.usage(WARN, "recalc"), before)
        self.assertIn("index rebuilt from", st.read_log())


class QuotaWarningSocketTest(StratusTestCase):
    """With systemd, stratus-quota-warning.socket listens on the service's
    unix_listener: svc-quota writes the arguments there (one tab-separated
    line) instead of running the script, and etc/quota-warning.sh, started
    per connection with that line on its standard input, stores the
    warning in the user's INBOX without a quota check."""

    USER = "user1@example.com"
    extra_config = """mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=10k
  quota_warning = storage=100%% quota-warning 100 %u
}
service quota-warning {
  executable = script /nonexistent/quota-warning.sh
  unix_listener quota-warning {
  }
}
"""

    def test_arguments_go_to_the_socket_and_the_example_script_stores_a_warning(self):
        st = self.stratus
        path = os.path.join(st.run_dir, "quota-warning")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        srv.settimeout(15)
        try:
            with smtplib.LMTP("127.0.0.1", st.ports["lmtp"]) as l:
                l.ehlo()
                l.mail("a@example.org")
                l.rcpt(self.USER)
                self.assertEqual(l.data(message(int(10.3 * KIB)))[0], 250)
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(10)
                line = b""
                while not line.endswith(b"\n"):
                    chunk = conn.recv(1024)
                    if not chunk:
                        break
                    line += chunk
        finally:
            srv.close()
        self.assertEqual(line, ("100\t%s\n" % self.USER).encode())
        st.wait_log(r"quota warning: sent quota-warning 100 %s to " % re.escape(self.USER))
        # What the socket unit runs: the script, the line on stdin.
        env = dict(os.environ, STRATUSCTL=STRATUSCTL, STRATUS_CONFIG=st.config)
        r = subprocess.run(["sh", os.path.join(SRC, "etc", "quota-warning.sh")], input=line,
                           env=env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"quota warning '100' sent to " + self.USER.encode(), r.stdout)
        imap = imaplib.IMAP4("127.0.0.1", st.ports["imap"])
        imap.login(self.USER, "pass1")
        imap.select("INBOX")
        typ, data = imap.search(None, "SUBJECT", '"100% full"')
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data[0].split()), 1, data)
        imap.logout()
        # Bad arguments are refused by the script.
        r = subprocess.run(["sh", os.path.join(SRC, "etc", "quota-warning.sh"), "x;y", "a b"],
                           env=env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 64)


if __name__ == "__main__":
    main()
