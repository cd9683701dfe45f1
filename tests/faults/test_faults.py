"""Fault suite (issue 16 part 1): acknowledged mail is never lost.

A real service set runs with its mail on the SigV4-checking S3 server
(@20minutes/s3rver) behind tests/integration/faultproxy.py, fscache and
the metacache (mail_home) on a small tmpfs, and users in a real slapd.
An LMTP deliverer and an IMAP worker (APPEND, STORE, UID EXPUNGE, UID
MOVE) run throughout and keep a ledger of every 250 and tagged OK
(tests/faults/ledger.py). Faults, one phase at a time:
- kill -9 of every service in turn, `stratusctl run` restarting them;
- object storage: 5xx at 1/10/50 %, connection resets, stalls past
  svc-blob's timeout, truncated bodies, slow responses, the S3 server
  itself killed and started again after an outage;
- slapd killed and started again after an outage;
- the tmpfs holding fscache and the metacache filled up, then freed.
After each phase the load pauses and every mailbox is read through a
fresh IMAP session: every acknowledged message present exactly once, no
acknowledged expunge come back, no UID changed under the same
UIDVALIDITY, every service up. A table of the counts is printed.

FAULTS_LONG=1 (`make faults`) runs the long form: more kills, 1 % as
well, 30 s outages. The short form (`make test`) stays under 90 s."""

import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from faultproxy import FaultProxy          # noqa: E402
from ledger import (ImapWorker, Ledger, LmtpWorker, check, login,  # noqa: E402
                    read_mailboxes)
from slapd_harness import Slapd            # noqa: E402
from stratus_harness import SANITIZER_RE, SRC, Stratus  # noqa: E402
from test_blob import S3Server             # noqa: E402

LONG = os.environ.get("FAULTS_LONG") == "1"
USER, PASSWORD = "user1@example.com", "pass1"
SERVICES = ("blob", "index", "auth", "quota", "lmtp", "imap", "pop3", "managesieve")


class RestartableS3(S3Server):
    """The S3 server, killed with SIGKILL and started again on the same
    port and data folder (a real outage: connections are refused)."""

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.proc = subprocess.Popen(
            ["node", os.path.join(SRC, "tests", "s3rver", "run-s3rver.js"), os.path.join(self.dir, "data"),
             str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            r = self.curl("/" + self.bucket, check=False)
            if r.returncode == 0 and r.stdout.strip() == "200":
                return
            time.sleep(0.1)
        raise AssertionError("s3rver did not come back")


class Disk:
    """A small tmpfs for fscache and the metacache; fill() leaves it with
    no free block, free() gives the space back. Without mount permission
    the folder is an ordinary one and the disk-full phase is skipped."""

    def __init__(self, size_mb):
        self.dir = tempfile.mkdtemp(prefix="stratus-faults-disk-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs",
                            self.dir], capture_output=True, text=True)
        self.mounted = r.returncode == 0
        self.why = r.stderr.strip()
        self.filler = os.path.join(self.dir, "filler")

    def fill(self):
        with open(self.filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass

    def free(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)

    def cleanup(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.dir], capture_output=True)
        subprocess.run(["rm", "-rf", self.dir], capture_output=True)


class FaultStratus(Stratus):
    def __init__(self, s3_port, disk, ldap_conf):
        self.chain = ("fscache:2M:%s/fscache:s3:http://S3RVER:S3RVER@127.0.0.1:%d/"
                      "?bucket=mails&timeout_msecs=2000&max_retries=3&connect_timeout_msecs=500"
                      % (disk, s3_port))
        self.index_chain = self.chain.split(":", 3)[3]
        self.disk = disk
        auth = f"""passdb {{
  args = {ldap_conf}
  driver = ldap
}}
userdb {{
  driver = prefetch
}}
userdb {{
  args = {ldap_conf}
  driver = ldap
}}"""
        extra = ("mail_fsync = never\nauth_cache_size = 0\nauth_failure_delay = 0\n"
                 "mail_plugins = $mail_plugins quota\n"
                 "plugin {\n  quota = count:User quota\n  quota_rule = *:storage=10G\n}\n")
        super().__init__(extra, protocols="imap pop3 lmtp sieve", auth_config=auth)

    def render_config(self, protocols):
        text = super().render_config(protocols)
        text = re.sub(r"(?m)^mail_home = .*$", "mail_home = %s/home/%%2Mu/%%u" % self.disk, text)
        text = re.sub(r"(?m)^  obox_fs = .*$", "  obox_fs = " + self.chain, text)
        return re.sub(r"(?m)^  obox_index_fs = .*$", "  obox_index_fs = " + self.index_chain,
                      text)

    def statuses(self):
        r = self.ctl("status", check=False)
        return {m.group(1): m.group(2) for m in
                re.finditer(r"(?m)^(\S+)\s+(\S+)", r.stdout)}


class FaultSuite(unittest.TestCase):
    def setUp(self):
        random.seed(16)
        self.s3 = RestartableS3()
        self.proxy = FaultProxy(self.s3.port).start()
        self.proxy.stall_secs = 3.0
        self.slapd = Slapd({"user1": (USER, PASSWORD, 1000000)}).start()
        conf = self.slapd.ldap_conf(os.path.join(self.slapd.dir, "ldap.conf.ext"),
                                    iterate_filter="(objectClass=smiMessageRecipient)")
        self.disk = Disk(24)
        self.st = FaultStratus(self.proxy.port, self.disk.dir, conf).start()
        c = login(self.st.ports["imap"], USER, PASSWORD)
        self.assertEqual(c.command("CREATE Archive")[0], "OK")
        c.close()
        self.ledger = Ledger()
        self.workers = [LmtpWorker(self.ledger, self.st.ports, USER),
                        ImapWorker(self.ledger, self.st.ports, USER, PASSWORD)]
        self.rows = []
        self.faults = 0

    def tearDown(self):
        for w in self.workers:
            w.stop()
        try:
            text = self.st.cleanup()
            m = SANITIZER_RE.search(text)
            self.assertIsNone(m, text[max(0, m.start() - 3000):m.start() + 3000] if m else "")
        finally:
            self.proxy.stop()
            self.s3.stop()
            self.slapd.cleanup()
            self.disk.cleanup()

    # --- load control -------------------------------------------------
    def run_load(self, secs):
        for w in self.workers:
            w.resume()
        time.sleep(secs)

    def pause(self):
        for w in self.workers:
            w.pause()

    def wait_services_up(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.st.statuses()
            if all(s.get(n) == "ok" for n in SERVICES):
                return
            time.sleep(0.2)
        self.fail("services not all up: %s" % self.st.statuses())

    def verify(self, phase, faults):
        """Pauses the load, lets the services settle, checks the ledger
        and adds a table row; the load resumes with the next phase."""
        self.pause()
        self.proxy.fail_matching = None
        self.proxy.delay_secs = 0.0
        self.wait_services_up()
        boxes = read_mailboxes(self.st.ports["imap"], USER, PASSWORD)
        c = check(self.ledger, boxes)
        # a new UIDVALIDITY is allowed (UIDs may then change) but counted
        uv_changes = 0
        for box, (uv, _) in boxes.items():
            if self.ledger.uidvalidity.get(box, uv) != uv:
                uv_changes += 1
            self.ledger.uidvalidity[box] = uv
        c["uidvalidity_changes"] = uv_changes
        self.faults += faults
        row = dict(c, phase=phase, faults=faults, acked=self.ledger.acked,
                   present=sum(len(r) for _, r in boxes.values()))
        self.rows.append(row)
        print("  %-22s faults %4d  acked %5d  lost %d  dup %d  resurrected %d  uid %d  "
              "uidvalidity %d" % (phase, faults, row["acked"], c["lost"], c["duplicated"],
                                  c["resurrected"], c["uid_changes"], uv_changes), flush=True)
        return c

    # --- faults --------------------------------------------------------
    def kill_each(self, rounds, gap):
        n = 0
        for _ in range(rounds):
            for name in SERVICES:
                pid = self.st.pid_of(name)
                os.kill(pid, signal.SIGKILL)
                n += 1
                time.sleep(gap)
                self.wait_services_up()
                time.sleep(gap)
        return n

    def s3_rate(self, kinds, rate, secs):
        """A fault of one of kinds on a share of requests for secs."""
        before = self.proxy.stats()["faults"]
        self.proxy.fail_matching = (lambda m, p: random.choice(kinds)
                                    if random.random() < rate else None)
        time.sleep(secs)
        self.proxy.fail_matching = None
        return self.proxy.stats()["faults"] - before

    def s3_slow(self, delay, secs):
        self.proxy.delay_secs = delay
        time.sleep(secs)
        self.proxy.delay_secs = 0.0
        return 1

    def s3_down(self, secs):
        self.s3.kill()
        time.sleep(secs)
        self.s3.restart()
        return 1

    def slapd_down(self, secs):
        self.slapd.stop()
        time.sleep(secs)
        self.slapd.start()
        return 1

    def disk_full(self, secs):
        self.disk.fill()
        time.sleep(secs)
        self.disk.free()
        return 1

    # --- the suite ------------------------------------------------------
    def test_acknowledged_mail_survives_faults(self):
        t0 = time.time()
        outage = 30 if LONG else 3
        load = 4 if LONG else 1.0
        for w in self.workers:
            w.start()
        self.run_load(load)
        self.verify("baseline", 0)
        self.run_load(0.5)
        self.verify("kill -9 each service", self.kill_each(3 if LONG else 1, 0.3))
        rates = (0.01, 0.10, 0.50) if LONG else (0.10, 0.50)
        for rate in rates:
            self.run_load(0.2)
            self.verify("S3 5xx %d%%" % (rate * 100),
                        self.s3_rate(("500", "503"), rate, 2 * load))
        for kind in ("reset", "stall", "truncate"):
            self.run_load(0.2)
            self.verify("S3 %s 10%%" % kind, self.s3_rate((kind,), 0.10, 1.5 * load))
        self.run_load(0.2)
        self.verify("S3 slow 300 ms", self.s3_slow(0.3, 1.5 * load))
        self.run_load(0.2)
        self.verify("S3 down %d s" % outage, self.s3_down(outage))
        self.run_load(0.2)
        self.verify("slapd down %d s" % outage, self.slapd_down(outage))
        if self.disk.mounted:
            self.run_load(0.2)
            self.verify("disk full %d s" % outage, self.disk_full(outage))
        else:
            print("  disk full: skipped, tmpfs mount refused: %s" % self.disk.why)
        self.run_load(load)
        last = self.verify("after all", 0)

        print("\n| phase | faults | acknowledged | lost | duplicated | resurrected | UID changes "
              "| UIDVALIDITY changes |")
        print("|---|---|---|---|---|---|---|---|")
        for r in self.rows:
            print("| %s | %d | %d | %d | %d | %d | %d | %d |" % (
                r["phase"], r["faults"], r["acked"], r["lost"], r["duplicated"],
                r["resurrected"], r["uid_changes"], r["uidvalidity_changes"]))
        print("| total | %d | %d | %d | %d | %d | %d | %d |" % (
            self.faults, self.ledger.acked, last["lost"], last["duplicated"],
            last["resurrected"], last["uid_changes"],
            sum(r["uidvalidity_changes"] for r in self.rows)))
        print("refusals seen: %s; %.0f s" % (self.ledger.refusals, time.time() - t0))
        print("first of each: %s" % self.ledger.samples)
        problems = [p for r in self.rows for p in r["problems"]]
        self.assertEqual(problems, [], "\n".join(problems[:40]))
        self.assertGreater(self.ledger.acked, 50)
        # A permanent LMTP refusal during a temporary fault would bounce mail.
        self.assertEqual({k: v for k, v in self.ledger.refusals.items() if k.startswith("5")},
                         {}, "5xx during temporary faults")
        # IMAP refusals are temporary ones a client retries
        self.assertEqual({k for k in self.ledger.refusals if k.startswith("NO ")} -
                         {"NO UNAVAILABLE", "NO SERVERBUG"}, set(), self.ledger.samples)


if __name__ == "__main__":
    unittest.main(verbosity=2)
