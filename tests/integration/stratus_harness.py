"""Starts a real Stratus service set in a temporary folder for a test.

Every integration test uses this: it writes a Dovecot-syntax config with
free loopback ports, runs `stratusctl run` (the same LISTEN_FDS hand-over
systemd does), waits until every service reported READY, and on stop
checks that no sanitizer complained in any service's output."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("STRATUS_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SRC = os.environ.get("STRATUS_SRC_DIR", os.path.join(os.path.dirname(__file__), "../.."))
STRATUSCTL = os.path.join(BUILD, "svc-ctl", "stratusctl")
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")


_ports_given = set()


def free_port():
    # A port is free only while nobody holds it, and the kernel may hand
    # the same one out again (it did in test_tls_nonloopback's fresh
    # network namespace): never give one port twice in a process.
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def service_binary(name):
    return os.path.join(BUILD, "svc-" + name, "stratus-" + name)


class Stratus:
    """One service set. `extra` is appended to the generated config."""

    def __init__(self, extra="", protocols="imap pop3 lmtp sieve", users=None, auth_config=None):
        # auth_config replaces the passdb/userdb sections (None = passwd-file + static)
        self.auth_config = auth_config
        self.dir = tempfile.mkdtemp(prefix="stratus-test-")
        os.chmod(self.dir, 0o755)
        self.ports = {p: free_port() for p in ("imap", "pop3", "lmtp", "sieve")}
        self.run_dir = os.path.join(self.dir, "run")
        self.config = os.path.join(self.dir, "stratus.conf")
        self.log_path = os.path.join(self.dir, "stratus.log")
        self.users_file = os.path.join(self.dir, "users")
        with open(self.users_file, "w") as f:
            for user, password in (users or {"user1@example.com": "pass1",
                                             "user2@example.com": "pass2"}).items():
                f.write("%s:{PLAIN}%s::::::\n" % (user, password))
        with open(self.config, "w") as f:
            f.write(self.render_config(protocols) + "\n" + extra + "\n")
        self.proc = None
        self.log = None

    def render_config(self, protocols):
        d = self.dir
        return f"""
protocols = {protocols}
listen = 127.0.0.1
base_dir = {self.run_dir}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_home = {d}/home/%2Mu/%u
mail_location = obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/
{self.render_auth_config()}
plugin {{
  obox_fs = posix:prefix={d}/objects/
  obox_index_fs = posix:prefix={d}/objects/
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.ports['imap']}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.ports['pop3']}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.ports['lmtp']}
  }}
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    address = 127.0.0.1
    port = {self.ports['sieve']}
  }}
}}
"""

    def render_auth_config(self):
        if self.auth_config is not None:
            return self.auth_config
        return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.users_file}
}}
userdb {{
  driver = static
  args = home={self.dir}/home/%2Mu/%u
}}"""

    def ctl(self, *args, check=True, timeout=30):
        r = subprocess.run([STRATUSCTL, "-c", self.config, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("stratusctl %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self, wait=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([STRATUSCTL, "-c", self.config, "run"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_log(r"all \d+ services ready", timeout=30)
        return self

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=10, start_at=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.read_log()[start_at:]
            m = re.search(pattern, text)
            if m:
                return m
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("stratusctl exited (%s):\n%s" % (self.proc.returncode, text))
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %r in log:\n%s" % (pattern, self.read_log()))

    def pid_of(self, service):
        for line in self.ctl("status", service).stdout.splitlines():
            m = re.match(r"(\S+)\s+ok\s+pid (\d+)", line)
            if m and m.group(1) == service:
                return int(m.group(2))
        raise AssertionError("no pid for " + service)

    def stop(self):
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        text = self.read_log()
        self.proc = None
        return text

    def cleanup(self):
        text = self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return text


class StratusTestCase(unittest.TestCase):
    """Starts one service set per test class (setUpClass); fails a test
    class whose services printed sanitizer errors."""

    extra_config = ""
    protocols = "imap pop3 lmtp sieve"
    users = None

    @classmethod
    def setUpClass(cls):
        cls.stratus = Stratus(cls.extra_config, cls.protocols, cls.users).start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report in service output:\n" + text[max(0, m.start() - 2000):m.start() + 4000])


def main():
    unittest.main(verbosity=2)
