"""The service fabric end to end: launcher, status RPC, restarts, socket
activation through systemd-socket-activate, config errors."""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

from stratus_harness import (SANITIZER_RE, SRC, STRATUSCTL, Stratus,
                             StratusTestCase, main, service_binary)

SERVICES = ["blob", "index", "auth", "quota", "imap", "pop3", "lmtp", "managesieve"]


class LauncherTest(StratusTestCase):
    extra_config = "verbose_proctitle = yes\n"

    def test_status_lists_all_services_healthy(self):
        out = self.stratus.ctl("status").stdout
        for svc in SERVICES:
            self.assertRegex(out, r"(?m)^%s\s+ok\s+pid \d+" % svc)
        self.assertNotIn("DOWN", out)

    def test_killed_service_is_restarted(self):
        old = self.stratus.pid_of("index")
        mark = len(self.stratus.read_log())
        os.kill(old, signal.SIGKILL)
        self.stratus.wait_log(r"index \(pid %d\) killed by signal 9; restarting" % old, start_at=mark)
        self.stratus.wait_log(r"index ready \(pid (\d+)\)", start_at=mark)
        new = self.stratus.pid_of("index")
        self.assertNotEqual(old, new)

    def test_sockets_are_handed_over_with_listen_fds(self):
        log = self.stratus.read_log()
        self.assertRegex(log, r"lmtp: Info: took 3 sockets from LISTEN_FDS: rpc inet-lmtp unix-lmtp")
        self.assertRegex(log, r"imap: Info: took 2 sockets from LISTEN_FDS: rpc inet-imap")

    def test_verbose_proctitle(self):
        pid = self.stratus.pid_of("imap")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            title = f.read().split(b"\0")[0].decode()
        self.assertRegex(title, r"^stratus-imap \[\d+ connections\]")

    def test_protocol_listeners_answer(self):
        with socket.create_connection(("127.0.0.1", self.stratus.ports["imap"]), 5) as s:
            s.settimeout(5)
            self.assertTrue(s.recv(200).startswith(b"* "))

    def test_log_lines_carry_service_prefix(self):
        self.assertRegex(self.stratus.read_log(), r"(?m) auth: Info: started \(version ")


class ConfigErrorTest(unittest.TestCase):
    def run_with(self, extra):
        st = Stratus(extra)
        try:
            r = subprocess.run([STRATUSCTL, "-c", st.config, "run"], capture_output=True,
                               text=True, timeout=20)
            return r, st.config
        finally:
            st.cleanup()

    def test_unknown_setting_names_file_and_line(self):
        r, path = self.run_with("no_such_setting = 1\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, re.escape(path) + r":\d+: .*no_such_setting")

    def test_bad_size_unit(self):
        r, path = self.run_with("auth_cache_size = 100Q\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(path, r.stderr)

    def test_unclosed_section(self):
        r, path = self.run_with("plugin {\n  quota_vsizes = yes\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(path, r.stderr)

    def test_status_reports_down_service(self):
        st = Stratus()
        try:
            r = st.ctl("status", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("DOWN", r.stdout)
        finally:
            st.cleanup()


class SocketActivationTest(unittest.TestCase):
    """A service under systemd-socket-activate takes its socket from
    LISTEN_FDS, exactly as under systemd."""

    def test_auth_under_systemd_socket_activate(self):
        if shutil.which("systemd-socket-activate") is None:
            self.skipTest("systemd-socket-activate not installed")
        st = Stratus(protocols="imap")
        os.makedirs(st.run_dir, exist_ok=True)
        sock = os.path.join(st.run_dir, "stratus-auth")
        proc = subprocess.Popen(["systemd-socket-activate", "-l", sock, "--fdname=rpc",
                                 service_binary("auth"), "-c", st.config],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 10
            while not os.path.exists(sock) and time.time() < deadline:
                time.sleep(0.05)
            out = st.ctl("status", "auth").stdout
            self.assertRegex(out, r"(?m)^auth\s+ok\s+pid (\d+)")
            pid = int(re.search(r"pid (\d+)", out).group(1))
            self.assertEqual(pid, proc.pid)  # socket-activate execs the service
        finally:
            proc.send_signal(signal.SIGTERM)
            text = proc.communicate(timeout=20)[0].decode(errors="replace")
            st.cleanup()
        self.assertNotRegex(text, SANITIZER_RE)
        self.assertIn("stopping on signal 15", text)
        self.assertIn("took 1 sockets from LISTEN_FDS: rpc", text)
        self.assertEqual(proc.returncode, 0)


class ConfigDumpTest(unittest.TestCase):
    def test_backend_conf_prints_spec_settings(self):
        r = subprocess.run([STRATUSCTL, "config", "-n", "-c",
                            os.path.join(SRC, "etc", "backend.conf")],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in ("auth_cache_size = 100M", "mail_home = /var/vmail/%2Mu/%u",
                     "mail_fsync = never", "auth_mechanisms = plain login", "pop3_uidl_format = %g",
                     "metacache_max_space = 200G", "special_use = \\Drafts"):
            self.assertIn(line, r.stdout)


if __name__ == "__main__":
    main()
