"""Secrets stay in the services that use them (issue 19).

Every service parses the whole dovecot.conf. This test starts the set
with obox_fs/obox_index_fs on the SigV4-checking s3rver (the S3 key in
the URL), an LDAP passdb whose args file holds a dnpass made for this run
(real slapd), and an ssl_key_password; it delivers a message over LMTP
and reads it back over IMAP and POP3, so every service has done its
work. Then it reads each service's whole memory through /proc/PID/mem
(every readable mapping but ASan's shadow, which holds no user bytes):
svc-imap, svc-pop3, svc-lmtp, svc-managesieve, svc-index and svc-quota
must not contain the S3 credentials, the dnpass or the key password;
svc-blob must contain the S3 credentials and svc-auth the dnpass (the
positive controls: they prove the reader finds a secret that is there).

Dict URIs with a password (issue 19): quota_clone_dict = proxy::quotaclone
names dict { quotaclone = redis:...:password=P } on a real redis-server
that requires P; svc-quota must hold P (and Redis must have the clone it
wrote after AUTH), no other service may. mail_attribute_dict = proxy::attrs
(accepted, not implemented) names a dict whose password no process may
hold, and an unreferenced dict's connect= password likewise. The
supervisor (`stratusctl run`) and its stats child (`stratusctl metrics
serve`) live as long as the services and must hold none of the secrets."""

import imaplib
import os
import poplib
import re
import secrets
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
import urllib.request

import slapd_harness
from slapd_harness import Slapd
from stratus_harness import SANITIZER_RE, Stratus, free_port, main
from test_blob import S3Server
from test_quota_redis import Redis
from tls_harness import make_ca, make_server_cert

USER, PASS = "user1@example.com", "pass1"
STATS_PORT = free_port()
SHADOW_MIN = 1 << 32  # mappings this large are ASan's shadow memory
CHUNK = 16 << 20


def mappings(pid):
    """(start, end) of every readable mapping of pid."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if "r" not in fields[1] or name in ("[vvar]", "[vsyscall]"):
                continue
            if hi - lo >= SHADOW_MIN:
                continue
            out.append((lo, hi))
    return out


def memory_contains(pid, needles):
    """The subset of needles (bytes) found anywhere in pid's memory."""
    found = set()
    longest = max(len(n) for n in needles)
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for lo, hi in mappings(pid):
            pos = lo
            while pos < hi:
                n = min(CHUNK, hi - pos)
                try:
                    mem.seek(pos)
                    data = mem.read(n + longest if pos + n < hi else n)
                except OSError:
                    data = b""  # a guard page or an unmapped hole
                for needle in needles:
                    if needle in data:
                        found.add(needle)
                pos += n
    return found


class SecretsStratus(Stratus):
    def __init__(self, s3_port, auth, extra):
        self.chain = "s3:http://S3RVER:S3RVER@127.0.0.1:%d/?bucket=mails" % s3_port
        super().__init__(extra, protocols="imap pop3 lmtp sieve", auth_config=auth)

    def render_config(self, protocols):
        text = super().render_config(protocols)
        text = re.sub(r"(?m)^  obox_fs = .*$", "  obox_fs = " + self.chain, text)
        return re.sub(r"(?m)^  obox_index_fs = .*$", "  obox_index_fs = " + self.chain, text)


class SecretsMemoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access("/proc/self/mem", os.R_OK):
            raise unittest.SkipTest("no /proc/PID/mem")
        cls.dnpass = "DnPass-" + secrets.token_hex(12)
        cls.key_password = "KeyPw-" + secrets.token_hex(12)
        saved = slapd_harness.ADMIN_PW
        slapd_harness.ADMIN_PW = cls.dnpass  # slapd's rootpw and the args file's dnpass
        try:
            cls.slapd = Slapd().start()
            conf = cls.slapd.ldap_conf(os.path.join(cls.slapd.dir, "dovecot-ldap.conf.ext"),
                                       iterate_filter="(objectClass=smiMessageRecipient)")
        finally:
            slapd_harness.ADMIN_PW = saved
        cls.s3 = S3Server()
        cls.redis_pw = "RedisPw-" + secrets.token_hex(12)
        cls.attr_pw = "AttrPw-" + secrets.token_hex(12)
        cls.sql_pw = "SqlPw-" + secrets.token_hex(12)
        cls.redis = Redis().start()
        cls.redis.cli("CONFIG", "SET", "requirepass", cls.redis_pw)
        cls.certs = tempfile.mkdtemp(prefix="stratus-secrets-")
        make_ca(cls.certs)
        cert, key = make_server_cert(cls.certs, "server")
        enc = os.path.join(cls.certs, "server-enc.key")
        subprocess.run(["openssl", "pkey", "-in", key, "-aes256", "-passout",
                        "pass:" + cls.key_password, "-out", enc], check=True,
                       capture_output=True, timeout=30)
        auth = f"""passdb {{
  args = {conf}
  driver = ldap
}}
userdb {{
  driver = prefetch
}}
userdb {{
  args = {conf}
  driver = ldap
}}"""
        redis_at = "redis:host=127.0.0.1:port=%d" % cls.redis.port
        extra = (f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{enc}\n"
                 f"ssl_key_password = {cls.key_password}\n"
                 f"""mail_plugins = $mail_plugins quota quota_clone
mail_attribute_dict = proxy::attrs
plugin {{
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_clone_dict = proxy::quotaclone
}}
dict {{
  quotaclone = {redis_at}:password={cls.redis_pw}
  attrs = {redis_at}:db=3:password={cls.attr_pw}
  unused = pgsql:connect=host=127.0.0.1 dbname=mail password={cls.sql_pw}
}}
service stats {{
  inet_listener http {{
    port = {STATS_PORT}
  }}
}}
""")
        cls.stratus = SecretsStratus(cls.s3.port, auth, extra)
        cls.s3_secret = ("S3RVER:S3RVER@127.0.0.1:%d" % cls.s3.port).encode()
        cls.stratus.start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        cls.s3.stop()
        cls.redis.cleanup()
        cls.slapd.cleanup()
        shutil.rmtree(cls.certs, ignore_errors=True)
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def use_every_service(self):
        ports = self.stratus.ports
        with smtplib.LMTP("127.0.0.1", ports["lmtp"], timeout=20) as c:
            self.assertEqual(c.sendmail("a@example.org", [USER],
                                        b"Subject: secrets\r\n\r\nbody\r\n"), {})
        c = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=20)
        c.login(USER, PASS)
        c.select("INBOX")
        typ, data = c.fetch("1", "(BODY[])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Subject: secrets", data[0][1])
        c.logout()
        p = poplib.POP3("127.0.0.1", ports["pop3"], timeout=20)
        p.user(USER)
        p.pass_(PASS)
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def redis_clone(self):
        """svc-quota's clone of USER's usage in Redis (it had to AUTH)."""
        deadline = time.time() + 10
        while time.time() < deadline:
            v = self.redis.cli("--no-auth-warning", "-a", self.redis_pw,
                               "GET", USER + "/quota/messages")
            if v not in ("", "0"):
                return v
            time.sleep(0.1)
        return v

    def ctl_pids(self):
        """The supervisor and its `stratusctl metrics serve` child."""
        run = self.stratus.proc.pid
        with open("/proc/%d/task/%d/children" % (run, run)) as f:
            children = [int(p) for p in f.read().split()]
        stats = None
        for pid in children:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            if b"metrics" in argv and b"serve" in argv:
                stats = pid
        self.assertIsNotNone(stats, "no stratusctl metrics serve child")
        return {"ctl-run": run, "ctl-stats": stats}

    def test_only_the_users_of_a_secret_hold_it(self):
        self.use_every_service()
        self.assertEqual(self.redis_clone(), "1", "svc-quota's clone through the AUTHed dict")
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % STATS_PORT,
                                    timeout=20) as r:
            self.assertEqual(r.status, 200)  # the stats child has done its work too
        needles = {"s3": self.s3_secret, "dnpass": self.dnpass.encode(),
                   "key_password": self.key_password.encode(),
                   "redis_pw": self.redis_pw.encode(), "attr_pw": self.attr_pw.encode(),
                   "sql_pw": self.sql_pw.encode()}
        pids = {service: self.stratus.pid_of(service)
                for service in ("blob", "auth", "index", "quota", "imap", "pop3", "lmtp",
                                "managesieve")}
        pids.update(self.ctl_pids())
        held = {}
        for name, pid in pids.items():
            found = memory_contains(pid, list(needles.values()))
            held[name] = sorted(k for k, v in needles.items() if v in found)
        print("\nsecrets held per process:", held)
        self.assertIn("s3", held["blob"], "the reader must find svc-blob's S3 key")
        self.assertIn("dnpass", held["auth"], "the reader must find svc-auth's dnpass")
        self.assertIn("redis_pw", held["quota"], "the reader must find svc-quota's dict password")
        for service in ("imap", "pop3", "lmtp", "managesieve", "index", "quota"):
            self.assertNotIn("s3", held[service], service)
            self.assertNotIn("dnpass", held[service], service)
        for service in ("blob", "auth", "index", "quota"):
            self.assertNotIn("key_password", held[service], service)
        for name in pids:
            if name != "quota":
                self.assertNotIn("redis_pw", held[name], name)
            self.assertNotIn("attr_pw", held[name], name)
            self.assertNotIn("sql_pw", held[name], name)
        for name in ("ctl-run", "ctl-stats"):
            self.assertEqual(held[name], [], name)


if __name__ == "__main__":
    main()
