"""quota_clone into a real Redis (Debian's redis-server on a loopback
port): `quota_clone_dict = redis:host=127.0.0.1:port=N` gets each user's
usage under Dovecot's keys (<user>/quota/storage, <user>/quota/messages)
after LMTP deliveries; with Redis down deliveries go on and the failure
is logged; the first change after Redis returns writes the current
usage; prefix= and db= are honoured."""

import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest

from stratus_harness import SANITIZER_RE, Stratus, free_port, main

USER = "user1@example.com"
OTHER = "user2@example.com"
MSG = b"From: a@example.org\r\nTo: x@example.com\r\nSubject: clone\r\n\r\n" + b"z" * 1000 + b"\r\n"


class Redis:
    def __init__(self, unix=False):
        self.dir = tempfile.mkdtemp(prefix="stratus-redis-")
        self.port = 0 if unix else free_port()
        self.socket = os.path.join(self.dir, "redis.sock") if unix else None
        self.proc = None

    def where(self):
        return ["-s", self.socket] if self.socket else ["-h", "127.0.0.1", "-p", str(self.port)]

    def start(self):
        listen = ["--port", "0", "--unixsocket", self.socket] if self.socket else \
                 ["--port", str(self.port), "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(
            ["redis-server", *listen, "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.cli("PING", check=False) == "PONG":
                return self
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def cli(self, *args, db=0, check=True):
        r = subprocess.run(["redis-cli", *self.where(), "-n", str(db), "--raw", *args],
                           capture_output=True, text=True, timeout=10, check=check)
        return r.stdout.strip()

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class QuotaRedisTest(unittest.TestCase):
    PARAMS = ""
    DB = 0
    PREFIX = ""
    UNIX = False

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis(cls.UNIX).start()
        where = "path=" + cls.redis.socket if cls.UNIX else \
                "host=127.0.0.1:port=%d" % cls.redis.port
        extra = f"""mail_plugins = $mail_plugins quota quota_clone
plugin {{
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_clone_dict = redis:{where}{cls.PARAMS}
}}
"""
        cls.stratus = Stratus(extra).start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        cls.redis.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def deliver(self, user):
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.ehlo()
            l.mail("a@example.org")
            l.rcpt(user)
            code, text = l.data(MSG)
            self.assertEqual(code, 250, text)

    def usage(self, user):
        time.sleep(1.1)  # past svc-quota's usage TTL
        out = self.stratus.ctl("quota", "get", user).stdout
        b = re.search(r"STORAGE\t\d+\t\d+\t(\d+)", out)
        m = re.search(r"MESSAGE\t(\d+)", out)
        return b.group(1), m.group(1)

    def cloned(self, user):
        key = self.PREFIX + user + "/quota/"
        return (self.redis.cli("GET", key + "storage", db=self.DB),
                self.redis.cli("GET", key + "messages", db=self.DB))

    def label(self):
        return re.escape("redis " + (self.redis.socket or "127.0.0.1:%d" % self.redis.port))

    def wait_cloned(self, user, expected):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.cloned(user) == expected:
                return
            time.sleep(0.05)
        self.assertEqual(self.cloned(user), expected)

    def test_redis_receives_usage_and_survives_an_outage(self):
        self.deliver(USER)
        self.deliver(USER)
        self.wait_cloned(USER, self.usage(USER))
        self.assertEqual(self.cloned(USER)[1], "2")
        # Redis goes away: deliveries go on, the failure is logged.
        log_at = len(self.stratus.read_log())
        self.redis.stop()
        self.deliver(USER)
        self.stratus.wait_log(r"quota: Error: quota_clone: %s: " % self.label(),
                              start_at=log_at)
        self.deliver(USER)
        self.deliver(OTHER)
        # Redis comes back empty (no persistence): the next change
        # writes the current usage, the other user's too.
        self.redis.start()
        self.assertEqual(self.cloned(USER), ("", ""))
        self.deliver(USER)
        self.wait_cloned(USER, self.usage(USER))
        self.assertEqual(self.cloned(USER)[1], "5")
        self.wait_cloned(OTHER, self.usage(OTHER))
        self.stratus.wait_log(r"quota_clone: %s: connected again" % self.label(),
                              start_at=log_at)
        out = self.stratus.ctl("status", "quota").stdout
        self.assertRegex(out, r"clone_writes=[1-9]")


class QuotaRedisPrefixDbTest(QuotaRedisTest):
    PARAMS = ":prefix=quota-clone/:db=3:expire_secs=3600:timeout_msecs=2000"
    DB = 3
    PREFIX = "quota-clone/"

    def test_stalled_redis_times_out_and_recovers(self):
        # A Redis that accepts but never answers (SIGSTOP): after
        # timeout_msecs the connection is dropped and logged; deliveries
        # never wait for it; once it answers again the next change
        # writes the current usage.
        self.deliver(OTHER)
        self.wait_cloned(OTHER, self.usage(OTHER))
        log_at = len(self.stratus.read_log())
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.time()
            self.deliver(OTHER)
            self.deliver(OTHER)
            self.assertLess(time.time() - t0, 10)
            self.stratus.wait_log(r"quota_clone: %s: no reply: timed out" % self.label(),
                                  start_at=log_at)
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        self.deliver(OTHER)
        self.wait_cloned(OTHER, self.usage(OTHER))

    def test_expire_secs_sets_a_ttl(self):
        self.deliver(OTHER)
        self.wait_cloned(OTHER, self.usage(OTHER))
        ttl = int(self.redis.cli("TTL", self.PREFIX + OTHER + "/quota/storage", db=self.DB))
        self.assertTrue(0 < ttl <= 3600, ttl)


class QuotaRedisUnixSocketTest(QuotaRedisTest):
    """path= (a UNIX socket) instead of host and port."""
    UNIX = True


class QuotaRedisBadDictTest(unittest.TestCase):
    def test_unknown_parameter_stops_start(self):
        st = Stratus("mail_plugins = $mail_plugins quota quota_clone\nplugin {\n"
                     "  quota = count:Q\n  quota_clone_dict = redis:host=127.0.0.1:bogus=1\n}\n")
        try:
            st.start(wait=False)
            st.wait_log(r"quota: Fatal: .*quota_clone_dict: unknown redis parameter 'bogus=1'",
                        timeout=15)
        finally:
            st.cleanup()


if __name__ == "__main__":
    main()
