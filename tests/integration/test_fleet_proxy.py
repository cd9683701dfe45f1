"""The fleet's handover behind a real Dovecot proxy (README "Fleet").

Debian's Dovecot (imap-login) runs as the proxy tier: its passwd-file
checks the client's password and answers proxy=y host=127.0.0.1 port=<the
backend's IMAP port> pass=<the fleet's shared master password>. The two
Stratus backends (test_fleet.FleetBackend, one shared s3rver bucket)
accept that password only from the proxy's address (static passdb with
allow_nets, as the spec's backends do) and trust the proxy's ID fields
(login_trusted_networks): x-originating-ip/-port and x-session-id from
Dovecot's ID command become the session's client address and session id
in Stratus's logs. The user is moved from A to B by editing the proxy's
passwd-file (Dovecot re-reads it when it changes): mail, UIDs and flags
follow through the bundle.

Skipped when Dovecot is not installed or cannot start here."""

import imaplib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from stratus_harness import SANITIZER_RE, free_port
from test_blob import S3Server
from test_fleet import CLOSE_DELAY, FleetBackend, mailbox_view

USER = "proxied@example.com"
PASSWORD = "client-pw"
MASTER_PASSWORD = "fleet-shared-secret"


class BackendBehindProxy(FleetBackend):
    """A fleet backend whose passdb also takes the proxies' shared
    password from 127.0.0.1 only, and trusts their forwarded fields."""

    def __init__(self, s3_port, users_file, name):
        super().__init__(s3_port, users_file, name)
        with open(self.config, "a") as f:
            f.write("login_trusted_networks = 127.0.0.1/32\n")

    def render_auth_config(self):
        return f"""passdb {{
  driver = static
  args = password={MASTER_PASSWORD} allow_nets=127.0.0.1/32
}}
userdb {{
  driver = static
  args = home={self.dir}/home/%2Mu/%u
}}"""


class DovecotProxy:
    """Dovecot's imap-login as a proxy only (no mail storage)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dovecot-proxy-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.passwd = os.path.join(self.dir, "passwd")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.proc = None
        with open(os.path.join(self.dir, "dovecot.conf"), "w") as f:
            f.write(f"""protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
instance_name = stratus-proxy-{os.getpid()}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.log_path}
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.passwd}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.dir}/nohome
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")

    def route(self, backend_port):
        """Points the user at a backend (what a director or an LDAP
        mailHost change does)."""
        tmp = self.passwd + ".tmp"
        with open(tmp, "w") as f:
            f.write("%s:{PLAIN}%s::::::proxy=y host=127.0.0.1 port=%d pass=%s\n"
                    % (USER, PASSWORD, backend_port, MASTER_PASSWORD))
        os.rename(tmp, self.passwd)
        # passwd-file notices a change by mtime: make each one visible
        now = time.time() + self.route_count
        os.utime(self.passwd, (now, now))
        self.route_count += 1

    route_count = 0

    def start(self):
        self.proc = subprocess.Popen(["dovecot", "-F", "-c",
                                      os.path.join(self.dir, "dovecot.conf")],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise unittest.SkipTest("dovecot did not start: %s" %
                                        self.proc.stderr.read().decode(errors="replace")[-500:])
            try:
                imaplib.IMAP4("127.0.0.1", self.port).logout()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise unittest.SkipTest("dovecot did not answer on its port")

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class FleetProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("dovecot") is None:
            raise unittest.SkipTest("Dovecot is not installed (dovecot-imapd)")
        cls.s3 = S3Server()
        users = os.path.join(cls.s3.dir, "users")
        open(users, "w").close()
        cls.a = cls.b = cls.proxy = None
        try:
            cls.a = BackendBehindProxy(cls.s3.port, users, "A").start()
            cls.b = BackendBehindProxy(cls.s3.port, users, "B").start()
            cls.proxy = DovecotProxy()
            cls.proxy.route(cls.a.ports["imap"])
            cls.proxy.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        texts = []
        if cls.proxy is not None:
            cls.proxy.stop()
        for st in (cls.a, cls.b):
            if st is not None:
                texts.append(st.cleanup())
        cls.s3.stop()
        for text in texts:
            m = SANITIZER_RE.search(text)
            if m:
                raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.proxy.port)
        m.login(USER, PASSWORD)
        return m, m.sock.getsockname()[1]

    def assert_forwarded(self, backend, client_port):
        """The backend logged the client's own port (not the proxy's
        connection), and the session id it uses from then on is the one
        Dovecot gave that login."""
        m = backend.wait_log(r"<([^>]+)> (?:Info: )?ID from trusted 127\.0\.0\.1: "
                             r"client 127\.0\.0\.1:%d\n" % client_port, timeout=10)
        session = m.group(1)
        deadline = time.time() + 5
        while "session=<%s>" % session not in self.proxy.read_log():
            self.assertLess(time.time(), deadline, "session %s is not Dovecot's: %s"
                            % (session, self.proxy.read_log()[-2000:]))
            time.sleep(0.1)

    def test_handover_behind_dovecot(self):
        a, b = self.a, self.b
        for i in range(1, 4):
            a.deliver(USER, "p%d@proxy" % i)
        m, port = self.login()
        before, _ = mailbox_view(m)
        m.uid("STORE", str(before["p2@proxy"][0]), "+FLAGS", "(\\Flagged)")
        before, _ = mailbox_view(m)
        m.logout()
        self.assert_forwarded(a, port)
        self.assertNotIn("p1@proxy", b.read_log())

        a_log = len(a.read_log())
        self.proxy.route(b.ports["imap"])    # the user moves to B
        time.sleep(CLOSE_DELAY + 0.3)
        m, port = self.login()
        on_b, _ = mailbox_view(m)
        self.assertEqual(on_b, before, "same UIDs and flags on B")
        m.uid("STORE", str(on_b["p1@proxy"][0]), "+FLAGS", "(\\Seen)")
        m.logout()
        self.assert_forwarded(b, port)
        self.assertNotIn("client 127.0.0.1:%d" % port, a.read_log()[a_log:],
                         "the second login went to B only")

        b.deliver(USER, "p4@proxy")
        time.sleep(CLOSE_DELAY + 0.3)
        self.proxy.route(a.ports["imap"])    # and back to A
        time.sleep(0.2)
        m, port = self.login()
        back, _ = mailbox_view(m)
        m.logout()
        self.assert_forwarded(a, port)
        self.assertEqual(set(back), {"p1@proxy", "p2@proxy", "p3@proxy", "p4@proxy"})
        self.assertIn("\\Seen", back["p1@proxy"][1])
        self.assertIn("\\Flagged", back["p2@proxy"][1])
        for msgid, (uid, _) in before.items():
            self.assertEqual(back[msgid][0], uid, "UIDs unchanged")


if __name__ == "__main__":
    unittest.main(verbosity=2)
