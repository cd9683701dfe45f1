"""Privilege separation (issue 19 part 2).

UnitSecurityTest: `systemd-analyze security --offline=true` scores every
.service unit in systemd/ (printed as a table), each must be 2.0 or below,
and every exposure it still lists must have an "# exposure NAME:" comment
with the reason in the unit file.

PrivdropTest: the units' users (created by the Debian postinst) configured
the Dovecot way (default_internal_user, service auth { user }, mail_uid /
mail_gid); `stratusctl run` started as root hands each service its sockets
and each service drops to its user: /proc/PID/status shows it, LMTP
delivery and IMAP login still work, the per-user cache folder is the mail
user's, and the passwd-file is readable by stratus-auth alone."""

import glob
import grp
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time
import unittest

from stratus_harness import SANITIZER_RE, SRC, Stratus, service_binary

UNIT_DIR = os.path.join(SRC, "systemd")
MAX_EXPOSURE = 2.0
SCORE_RE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)")

# Which user each service runs as in the configuration below, as in the
# units: stratus-auth reads the passdbs, index and blob the mail files
# (mail_uid), everything else is the internal user.
EXPECTED_USER = {
    "auth": "stratus-auth", "index": "email", "blob": "email",
    "quota": "stratus", "imap": "stratus", "pop3": "stratus",
    "lmtp": "stratus", "managesieve": "stratus",
}


def ensure_systemd_analyze():
    if shutil.which("systemd-analyze") is None:
        subprocess.run(["sh", os.path.join(SRC, "tools", "install-deps.sh")], check=False)
    return shutil.which("systemd-analyze") is not None


def analyze(unit, *args):
    return subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                           *args, unit], capture_output=True, text=True, timeout=30)


class UnitSecurityTest(unittest.TestCase):
    def setUp(self):
        if not ensure_systemd_analyze():
            self.skipTest("no systemd-analyze")

    def test_every_unit_scores_ok_and_explains_its_exposures(self):
        units = sorted(glob.glob(os.path.join(UNIT_DIR, "*.service")))
        self.assertGreaterEqual(len(units), 9)
        rows, problems = [], []
        for unit in units:
            name = os.path.basename(unit)
            text = analyze(unit)
            m = SCORE_RE.search(text.stdout)
            self.assertIsNotNone(m, "%s: no score in\n%s%s" % (name, text.stdout, text.stderr))
            score = float(m.group(1))
            items = json.loads(analyze(unit, "--json=short").stdout)
            open_items = [i["name"] for i in items
                          if not i["set"] and float(i["exposure"] or 0) > 0]
            with open(unit) as f:
                body = f.read()
            missing = [n for n in open_items if "# exposure %s:" % n not in body]
            rows.append((name, score, m.group(2), len(open_items)))
            if score > MAX_EXPOSURE:
                problems.append("%s scores %.1f > %.1f" % (name, score, MAX_EXPOSURE))
            if missing:
                problems.append("%s: no '# exposure NAME:' reason for %s" % (name, ", ".join(missing)))
        print("\n%-34s %5s  %-6s %s" % ("unit", "score", "level", "exposures left (each with a reason)"))
        for name, score, level, n in rows:
            print("%-34s %5.1f  %-6s %d" % (name, score, level, n))
        self.assertEqual(problems, [])


def sanitizer_report(text):
    # also LeakSanitizer failing to run at exit (the dropped services
    # are not dumpable after their uid change)
    return SANITIZER_RE.search(text) or re.search(r"LeakSanitizer has encountered a fatal error", text)


def ids(name):
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                fields[key] = [int(v) for v in value.split()]
    return fields


USERS_CONFIG = """
default_internal_user = stratus
mail_uid = email
mail_gid = email
service auth {
  user = stratus-auth
}
"""


def ensure_users():
    if shutil.which("adduser") is None:
        raise unittest.SkipTest("no adduser for the postinst")
    # The package's own script creates the users (idempotent).
    subprocess.run(["sh", os.path.join(SRC, "debian", "stratus-common.postinst"), "configure"],
                   check=True, timeout=60)


def free_privileged_port():
    for port in range(990, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise unittest.SkipTest("no free port below 1024")


def wait_for(predicate, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


@unittest.skipUnless(os.geteuid() == 0, "privilege drop needs root")
class PrivdropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_users()
        cls.stratus = Stratus(extra=USERS_CONFIG + """
service imap-login {
  user = dovenull
}
mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=1k
  quota_warning = storage=50%% quota-warning 50 %u
}
service quota-warning {
  executable = script SCRIPT
  user = email
}
""")
        d = cls.stratus.dir
        # No unix_listener: svc-quota runs the script itself, after its
        # drop as stratus rather than as the service's user email.
        script = os.path.join(d, "warn.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho \"warned $* as uid $(id -u)\"\n")
        os.chmod(script, 0o755)
        with open(cls.stratus.config) as f:
            conf = f.read().replace("script SCRIPT", "script " + script)
        with open(cls.stratus.config, "w") as f:
            f.write(conf)
        mail_uid, mail_gid = ids("email")
        # What stratus-common.tmpfiles does for /var/vmail and
        # /var/cache/mails: the mail user's folders, 0700.
        for sub in ("home", "objects"):
            os.mkdir(os.path.join(d, sub), 0o700)
            os.chown(os.path.join(d, sub), mail_uid, mail_gid)
        # The passdb: root and stratus-auth only.
        os.chown(cls.stratus.users_file, 0, grp.getgrnam("stratus-auth").gr_gid)
        os.chmod(cls.stratus.users_file, 0o640)
        cls.stratus.start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = sanitizer_report(text)
        if m:
            raise AssertionError("sanitizer report in service output:\n" + text[max(0, m.start() - 2000):])

    def test_each_service_runs_as_its_user(self):
        internal_gid = grp.getgrnam("stratus").gr_gid
        for service, user in EXPECTED_USER.items():
            uid, gid = ids(user)
            st = proc_status(self.stratus.pid_of(service))
            with self.subTest(service=service):
                # real, effective, saved and filesystem ids all dropped
                self.assertEqual(st["Uid"], [uid] * 4)
                self.assertEqual(st["Gid"], [gid] * 4)
                self.assertIn(internal_gid, st["Groups"])
                self.assertNotIn(0, st["Groups"])
        log = self.stratus.read_log()
        self.assertRegex(log, r"auth.*running as stratus-auth uid %d .*from service \{ user \}"
                         % ids("stratus-auth")[0])
        self.assertRegex(log, r"index.*running as email uid %d .*from mail_uid" % ids("email")[0])
        self.assertIn("service imap-login { user } has no effect", log)

    def test_quota_warning_script_runs_as_the_dropped_quota_user(self):
        user = "user2@example.com"
        self.stratus.ctl("quota", "get", user)          # remembers usage 0
        for _ in range(6):                               # 600 bytes > 50% of 1k
            self.stratus.ctl("mailbox", "append", user, "INBOX")
        self.stratus.ctl("quota", "changed", user)
        uid = ids("stratus")[0]
        self.stratus.wait_log(r"warned 50 %s as uid %d" % (re.escape(user), uid))
        self.assertIn("not root: runs as uid %d, not as user email" % uid, self.stratus.read_log())

    def test_rpc_sockets_belong_to_the_internal_group(self):
        internal_gid = grp.getgrnam("stratus").gr_gid
        for service, user in EXPECTED_USER.items():
            st = os.stat(os.path.join(self.stratus.run_dir, "stratus-" + service))
            with self.subTest(service=service):
                self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777),
                                 (ids(user)[0], internal_gid, 0o660))

    def test_delivery_and_login_still_work_and_cache_is_the_mail_users(self):
        user = "user1@example.com"
        msg = b"From: a@example.org\r\nSubject: privsep\r\n\r\nbody after the drop\r\n"
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as lmtp:
            self.assertEqual(lmtp.sendmail("a@example.org", [user], msg), {})
        imap = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        try:
            self.assertEqual(imap.login(user, "pass1")[0], "OK")
            typ, data = imap.select("INBOX")
            self.assertEqual(typ, "OK")
            typ, data = imap.fetch(data[0].decode(), "(BODY.PEEK[TEXT])")
            self.assertEqual(typ, "OK")
            self.assertIn(b"body after the drop", data[0][1])
        finally:
            imap.logout()
        bad = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"])
        with self.assertRaises(imaplib.IMAP4.error):
            bad.login(user, "wrong")
        bad.shutdown()
        homes = glob.glob(os.path.join(self.stratus.dir, "home", "*", user))
        self.assertEqual(len(homes), 1, homes)
        mail_uid, mail_gid = ids("email")
        st = os.stat(homes[0])
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (mail_uid, mail_gid, 0o700))
        for root, dirs, files in os.walk(os.path.join(self.stratus.dir, "objects")):
            for name in dirs + files:
                st = os.lstat(os.path.join(root, name))
                self.assertEqual((st.st_uid, st.st_gid), (mail_uid, mail_gid), name)

    def test_only_auth_can_read_the_passdb(self):
        # What the drop buys: a service other than auth, even if taken
        # over, cannot open the passwords (the file is root:stratus-auth
        # 0640 as the unit's comment asks).
        for service in ("imap", "pop3", "lmtp", "index"):
            pid = self.stratus.pid_of(service)
            st = proc_status(pid)
            r = subprocess.run(["setpriv", "--reuid=%d" % st["Uid"][0], "--regid=%d" % st["Gid"][0],
                                "--groups=%s" % ",".join(map(str, st["Groups"])),
                                "cat", self.stratus.users_file], capture_output=True, text=True)
            with self.subTest(service=service):
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("Permission denied", r.stderr)


@unittest.skipUnless(os.geteuid() == 0, "privilege drop needs root")
class StandaloneTest(unittest.TestCase):
    """A service started by hand, without LISTEN_FDS: it binds its own
    sockets as root (here a port below 1024) and drops after that; one
    started as another user stays that user."""

    def setUp(self):
        ensure_users()
        self.stratus = Stratus(extra=USERS_CONFIG)
        self.procs = []

    def tearDown(self):
        for proc, out in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
            out.close()
        text = self.stratus.read_log() if os.path.exists(self.stratus.log_path) else ""
        self.stratus.cleanup()
        self.assertIsNone(sanitizer_report(text), text)

    def spawn(self, service, preexec=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET")}
        out = open(self.stratus.log_path, "a")
        proc = subprocess.Popen([service_binary(service), "-c", self.stratus.config],
                                stdout=out, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=preexec)
        self.procs.append((proc, out))
        return proc

    def test_binds_a_privileged_port_then_drops(self):
        port = free_privileged_port()
        with open(self.stratus.config) as f:
            conf = f.read().replace("port = %d\n" % self.stratus.ports["imap"], "port = %d\n" % port)
        with open(self.stratus.config, "w") as f:
            f.write(conf)
        os.mkdir(self.stratus.run_dir)
        proc = self.spawn("imap")
        wait_for(lambda: "started" in self.stratus.read_log() or proc.poll() is not None, "imap start")
        self.assertIsNone(proc.poll(), self.stratus.read_log())
        uid, gid = ids("stratus")
        st = proc_status(proc.pid)
        self.assertEqual((st["Uid"], st["Gid"]), ([uid] * 4, [gid] * 4))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            self.assertTrue(c.recv(256).startswith(b"* OK"))
        sock = os.stat(os.path.join(self.stratus.run_dir, "stratus-imap"))
        self.assertEqual((sock.st_uid, sock.st_gid, sock.st_mode & 0o777), (uid, gid, 0o660))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0)

    def test_not_root_stays_as_started(self):
        uid, gid = ids("stratus")
        for sub in ("run", "objects"):
            os.makedirs(os.path.join(self.stratus.dir, sub), exist_ok=True)
            os.chown(os.path.join(self.stratus.dir, sub), uid, gid)

        def become_stratus():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        proc = self.spawn("blob", preexec=become_stratus)
        wait_for(lambda: "started" in self.stratus.read_log() or proc.poll() is not None, "blob start")
        self.assertIsNone(proc.poll(), self.stratus.read_log())
        self.assertEqual(proc_status(proc.pid)["Uid"], [uid] * 4)
        self.assertRegex(self.stratus.read_log(),
                         r"mail_uid names uid %d but this process was started as uid %d "
                         r"\(not root\): it stays uid %d" % (ids("email")[0], uid, uid))


if __name__ == "__main__":
    unittest.main(verbosity=2)
