"""svc-blob end to end through `stratusctl fs` and the real service set:
the same driver suite against posix and against a SigV4-checking S3
server (@20minutes/s3rver, started here on loopback), a wrong secret
(403 with a clear error), retries through a fault-injecting proxy (500,
503 SlowDown, resets: counted and retried; 4xx: never retried), the
parallelism bound observed at the proxy, and zlib mail compression with
plain and compressed objects mixed."""

import gzip
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from stratus_harness import SANITIZER_RE, SRC, Stratus, free_port, main
from faultproxy import FaultProxy
from cdmi_server import CdmiServer

USER = "user1@example.com"
NODE_MODULES = os.path.join(SRC, "tests", "node_modules", "@20minutes", "s3rver")


class S3Server:
    """@20minutes/s3rver in a temp folder, with one bucket."""

    def __init__(self, bucket="mails"):
        self.dir = tempfile.mkdtemp(prefix="s3rver-")
        self.port = free_port()
        self.bucket = bucket
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.log = open(os.path.join(self.dir, "s3rver.log"), "w")
        self.proc = subprocess.Popen(
            ["node", os.path.join(SRC, "tests", "s3rver", "run-s3rver.js"),
             os.path.join(self.dir, "data"), str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            r = self.curl("-X", "PUT", "/" + bucket, check=False)
            if r.returncode == 0 and r.stdout.strip() == "200":
                return
            time.sleep(0.1)
        raise AssertionError("s3rver did not start")

    def curl(self, *args, check=True, secret="S3RVER"):
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "S3RVER:" + secret,
                            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                            *args[:-1], "http://127.0.0.1:%d%s" % (self.port, args[-1])],
                           capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError(r.stderr)
        return r

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class BlobStratus(Stratus):
    """The harness's service set with our own obox_fs chain."""

    def __init__(self, obox_fs=None, extra=""):
        self.obox_fs = obox_fs
        super().__init__(extra, protocols="imap lmtp")

    def render_config(self, protocols):
        text = super().render_config(protocols)
        if self.obox_fs is not None:
            text = re.sub(r"(?m)^  obox_fs = .*$", "  obox_fs = " + self.obox_fs.replace("\\", "\\\\"), text)
        return text

    def fs(self, *args, check=True, input_data=None):
        return self.ctl("fs", *args, check=check)

    def stats(self):
        out = self.ctl("fs", "stats").stdout
        return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


class BlobTestCase(unittest.TestCase):
    obox_fs = None
    extra = ""

    @classmethod
    def setUpClass(cls):
        cls.st = BlobStratus(cls.chain(), cls.extra).start()

    @classmethod
    def chain(cls):
        return cls.obox_fs

    @classmethod
    def tearDownClass(cls):
        text = cls.st.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def put(self, key, data, user=USER):
        path = os.path.join(self.st.dir, "body")
        with open(path, "wb") as f:
            f.write(data)
        return self.st.fs("put", user, key, path)

    def get(self, key, user=USER, check=True):
        path = os.path.join(self.st.dir, "out")
        r = self.st.fs("get", user, key, path, check=check)
        if r.returncode != 0:
            return None
        with open(path, "rb") as f:
            return f.read()


class DriverSuite:
    """Run by every backend: the same operations, the same answers."""

    def test_put_get_head(self):
        body = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody " + os.urandom(2000).hex().encode()
        r = self.put("mbox-1/msg-1", body)
        self.assertIn(USER + "/mbox-1/msg-1 %d" % len(body), r.stdout)
        self.assertEqual(self.get("mbox-1/msg-1"), body)
        head = self.st.fs("head", USER, "mbox-1/msg-1").stdout
        self.assertIn("size %d" % len(body), head)

    def test_large_object(self):
        body = os.urandom(3 * 1024 * 1024)
        self.put("mbox-1/big", body)
        self.assertEqual(self.get("mbox-1/big"), body)

    def test_missing_object(self):
        r = self.st.fs("get", USER, "mbox-1/none", os.path.join(self.st.dir, "x"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NOT_FOUND", r.stderr.upper().replace(" ", "_"))

    def test_list_pages_and_delete(self):
        keys = ["lst/k%03d" % i for i in range(25)]
        for k in keys:
            self.put(k, b"x" * 10)
        out = self.st.fs("ls", USER, "lst/").stdout.split("\n")
        listed = [line.split()[0] for line in out if line]
        self.assertEqual(listed, keys)
        r = self.st.fs("rm", USER, *keys[:20])
        self.assertIn("deleted 20", r.stdout)
        out = self.st.fs("ls", USER, "lst/").stdout.split()
        self.assertEqual(out[0::2], keys[20:])

    def test_list_continuation_pages(self):
        keys = ["pg/k%02d" % i for i in range(25)] + ["pg/sub/z%d" % i for i in range(3)]
        for k in keys:
            self.put(k, b"p")
        before = self.st.stats()
        out = self.st.fs("ls", "--page", "7", USER, "pg/").stdout.split("\n")
        listed = [line.split()[0] for line in out if line]
        self.assertEqual(listed, sorted(keys))
        self.list_requests = self.st.stats()["list_2xx"] - before["list_2xx"]

    def test_copy(self):
        self.put("cp/src", b"copy me")
        self.st.fs("cp", USER, "cp/src", "cp/dst")
        self.assertEqual(self.get("cp/dst"), b"copy me")

    def test_users_are_separate(self):
        self.put("sep/a", b"one", user="user1@example.com")
        self.assertIsNone(self.get("sep/a", user="user2@example.com", check=False))

    def test_bad_keys_rejected(self):
        for key in ("../escape", "a/../../b", "/abs", "a//b"):
            r = self.st.fs("get", USER, key, "/dev/null", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("INVALID", r.stderr)

    def test_index_chain(self):
        self.st.fs("put", "--index", USER, "idx/bundle", "/etc/services")
        path = os.path.join(self.st.dir, "idx")
        self.st.fs("get", "--index", USER, "idx/bundle", path)
        with open(path, "rb") as f, open("/etc/services", "rb") as g:
            self.assertEqual(f.read(), g.read())


class PosixDriverTest(DriverSuite, BlobTestCase):
    extra = "plugin {\n}\n"

    def test_metadata_on_disk_and_key_layout(self):
        self.put("lay/m1", b"x")
        found = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(self.st.dir, "objects"))
                 for f in fs if f == "m1"]
        self.assertEqual(len(found), 1)
        self.assertRegex(found[0], r"/objects/[0-9a-f]{2}/[0-9a-f]{3}/user1@example.com/lay/m1$")
        self.assertIn("user.stratus.meta", os.listxattr(found[0]))


class S3Case(BlobTestCase):
    secret = "S3RVER"
    params = ""
    use_proxy = False

    @classmethod
    def setUpClass(cls):
        cls.s3 = S3Server()
        cls.proxy = FaultProxy(cls.s3.port).start() if cls.use_proxy else None
        try:
            super().setUpClass()
        except Exception:
            cls.s3.stop()
            raise

    @classmethod
    def chain(cls):
        port = cls.proxy.port if cls.proxy else cls.s3.port
        return "s3:http://S3RVER:%s@127.0.0.1:%d/?bucket=mails%s" % (cls.secret, port, cls.params)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.proxy:
                cls.proxy.stop()
            cls.s3.stop()


class S3DriverTest(DriverSuite, S3Case):
    extra = "mail_prefetch_count = 4\n"

    def test_metadata_as_amz_meta(self):
        self.put("meta/m1", b"hello")
        out = subprocess.run(["curl", "-sS", "-I", "--aws-sigv4", "aws:amz:us-east-1:s3",
                              "--user", "S3RVER:S3RVER", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                              "http://127.0.0.1:%d/mails/" % self.s3.port
                              + self.put("meta/m2", b"x").stdout.split()[0].replace("@", "%40")],
                             capture_output=True, text=True).stdout.lower()
        self.assertIn("x-amz-meta-physical-size: 1", out)

    def test_list_continuation_pages(self):
        # 28 keys, 7 a page: 4 ListObjectsV2 requests chained by s3rver's
        # continuation tokens (which need --openssl-legacy-provider)
        super().test_list_continuation_pages()
        self.assertEqual(self.list_requests, 4)

    def test_request_accounting(self):
        before = self.st.stats()
        self.put("acct/a", b"1")
        self.get("acct/a")
        after = self.st.stats()
        self.assertEqual(after["put_2xx"] - before["put_2xx"], 1)
        self.assertEqual(after["get_2xx"] - before["get_2xx"], 1)


class S3WrongSecretTest(S3Case):
    secret = "WRONG"

    def test_403_and_clear_error(self):
        r = self.put("x/y", b"data") if False else self.st.fs(
            "put", USER, "x/y", "/etc/hostname", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("HTTP 403", r.stderr)
        self.assertIn("SignatureDoesNotMatch", r.stderr)
        self.assertNotIn("WRONG", r.stderr)
        st = self.st.stats()
        self.assertEqual(st["put_4xx"], 1)
        self.assertEqual(st["put_retries"], 0)
        self.assertIn("SignatureDoesNotMatch", self.st.read_log())


class S3FaultTest(S3Case):
    use_proxy = True
    params = "&timeout_msecs=1000&max_retries=3"
    extra = "mail_prefetch_count = 3\n"

    def setUp(self):
        self.proxy.faults.clear()
        self.proxy.fail_matching = None
        self.proxy.delay_secs = 0

    def test_retries_on_500_503_reset(self):
        before = self.st.stats()
        self.proxy.push_faults("500", "503", "reset")
        self.put("f/a", b"survives faults")
        after = self.st.stats()
        self.assertEqual(after["put_retries"] - before["put_retries"], 3)
        self.assertEqual(after["put_5xx"] - before["put_5xx"], 2)
        self.assertEqual(after["put_neterr"] - before["put_neterr"], 1)
        self.assertEqual(self.get("f/a"), b"survives faults")

    def test_stall_past_timeout_and_truncated_body_are_retried(self):
        self.put("f/t", b"t" * 5000)
        before = self.st.stats()
        self.proxy.stall_secs = 3
        self.proxy.push_faults("stall", "truncate")
        self.assertEqual(self.get("f/t"), b"t" * 5000)
        after = self.st.stats()
        self.assertEqual(after["get_retries"] - before["get_retries"], 2)

    def test_503_on_get_retried(self):
        self.put("f/g503", b"get after slow down")
        before = self.st.stats()
        self.proxy.push_faults("503")
        self.assertEqual(self.get("f/g503"), b"get after slow down")
        after = self.st.stats()
        self.assertEqual(after["get_5xx"] - before["get_5xx"], 1)
        self.assertEqual(after["get_retries"] - before["get_retries"], 1)
        self.assertEqual(after["get_2xx"] - before["get_2xx"], 1)
        # every attempt answered 503: the GET fails as a temporary error
        self.proxy.fail_matching = lambda m, p: "503" if m == "GET" else None
        r = self.st.fs("get", USER, "f/g503", "/dev/null", check=False)
        self.proxy.fail_matching = None
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TEMPFAIL", r.stderr)
        self.assertIn("503", r.stderr)

    def test_4xx_never_retried(self):
        before = self.st.stats()
        self.assertIsNone(self.get("f/none", check=False))
        after = self.st.stats()
        self.assertEqual(after["get_4xx"] - before["get_4xx"], 1)
        self.assertEqual(after["get_retries"] - before["get_retries"], 0)

    def test_exhausted_retries_fail_put_as_tempfail(self):
        self.proxy.fail_matching = lambda m, p: "503" if m == "PUT" else None
        r = self.st.fs("put", USER, "f/never", "/etc/hostname", check=False)
        self.proxy.fail_matching = None
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TEMPFAIL", r.stderr)
        self.assertIsNone(self.get("f/never", check=False))

    def test_parallel_gets_bounded(self):
        for i in range(8):
            self.put("par/%d" % i, b"p" * 100)
        self.proxy.reset_stats()
        self.proxy.delay_secs = 0.3
        procs = [subprocess.Popen([self.st_ctl(), "-c", self.st.config, "fs", "get", USER,
                                   "par/%d" % i, "/dev/null"]) for i in range(8)]
        for p in procs:
            self.assertEqual(p.wait(timeout=60), 0)
        s = self.proxy.stats()
        self.assertEqual(s["requests"].get("GET"), 8)
        self.assertGreaterEqual(s["max_inflight"], 2)
        self.assertLessEqual(s["max_inflight"], 3)
        self.assertLessEqual(self.st.stats()["get_inflight_max"], 3)

    def st_ctl(self):
        from stratus_harness import STRATUSCTL
        return STRATUSCTL


class CdmiDriverTest(DriverSuite, BlobTestCase):
    """The scality (CDMI) driver against tests/integration/cdmi_server.py,
    our own server written from the SNIA CDMI 1.1.1 spec, with the spec's
    addhdr/bulk parameters."""
    extra = "mail_prefetch_count = 4\n"

    @classmethod
    def setUpClass(cls):
        cls.cdmi = CdmiServer(containers=["/mails/"]).start()
        try:
            super().setUpClass()
        except Exception:
            cls.cdmi.stop()
            raise

    @classmethod
    def chain(cls):
        return ("scality:http://127.0.0.1:%d/mails/?addhdr=X-Dovecot-Hash:%%2Mu/%%2.3Mu"
                "&bulk_delete=1&bulk_link=1" % cls.cdmi.port)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.cdmi.stop()

    def test_addhdr_per_user_on_every_request(self):
        import hashlib
        del self.cdmi.requests[:]
        self.put("hdr/a", b"x")
        self.get("hdr/a")
        self.st.fs("head", USER, "hdr/a")
        self.st.fs("ls", USER, "hdr/")
        self.st.fs("cp", USER, "hdr/a", "hdr/b")
        self.st.fs("rm", USER, "hdr/a", "hdr/b")
        self.put("hdr/c", b"y", user="user2@example.com")
        reqs = list(self.cdmi.requests)
        self.assertGreaterEqual(len(reqs), 8)
        hashes = {}
        for user in (USER, "user2@example.com"):
            md5 = hashlib.md5(user.encode()).hexdigest()
            hashes[user] = md5[:2] + "/" + md5[2:5]
        seen = set()
        for method, path, headers in reqs:
            # the key starts with the same %2Mu/%2.3Mu: the header names
            # the path's own hash parts (a container PUT may name fewer)
            hdr = headers.get("X-Dovecot-Hash")
            self.assertIn(hdr, hashes.values(), "%s %s" % (method, path))
            self.assertTrue(("/mails/" + hdr + "/").startswith(path) or
                            path.startswith("/mails/" + hdr + "/"), "%s %s %s" % (method, path, hdr))
            seen.add(hdr)
        self.assertEqual(seen, set(hashes.values()))

    def test_cdmi_wire_format(self):
        del self.cdmi.requests[:]
        self.put("wire/m", b"\x00\xffbinary")
        puts = [(p, h) for m, p, h in self.cdmi.requests if m == "PUT"]
        obj = [h for p, h in puts if p.endswith("/wire/m")]
        self.assertEqual(obj[-1]["Content-Type"], "application/cdmi-object")
        self.assertEqual(obj[-1]["X-CDMI-Specification-Version"], "1.1.1")
        item = self.cdmi.store.items[[p for p in self.cdmi.store.items if p.endswith("/wire/m")][0]]
        self.assertEqual(item["value"], b"\x00\xffbinary")
        self.assertIn("stratus_physical_size", item["metadata"])
        head = self.st.fs("head", USER, "wire/m").stdout
        self.assertIn("size 8", head)
        gets = [h for m, p, h in self.cdmi.requests if m == "GET" and p.endswith("/wire/m")]
        self.assertEqual(gets, [])
        self.get("wire/m")
        gets = [h for m, p, h in self.cdmi.requests if m == "GET" and p.endswith("/wire/m")]
        self.assertNotIn("X-CDMI-Specification-Version", gets[-1])

    def test_server_error_is_tempfail(self):
        self.put("err/a", b"x")
        self.cdmi.set_fault(lambda m, p: 503 if m == "GET" else None)
        try:
            r = self.st.fs("get", USER, "err/a", "/dev/null", check=False)
        finally:
            self.cdmi.set_fault(None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TEMPFAIL", r.stderr)
        self.assertEqual(self.get("err/a"), b"x")


class ZlibTest(BlobTestCase):
    extra = "mail_plugins = $mail_plugins zlib\nplugin {\n}\n"

    @classmethod
    def setUpClass(cls):
        # first run without zlib_save: plain objects; then with it
        super().setUpClass()

    def test_mixed_plain_and_compressed(self):
        plain = b"Subject: old\r\n\r\n" + b"plain " * 500
        self.put("z/old", plain)
        self.st.stop()
        with open(self.st.config, "a") as f:
            f.write("plugin {\n  zlib_save = gz\n  zlib_save_level = 6\n}\n")
        # the harness config has one plugin section: put zlib_save there
        with open(self.st.config) as f:
            text = f.read()
        text = text.replace("plugin {\n  zlib_save = gz\n  zlib_save_level = 6\n}\n", "")
        text = text.replace("  obox_fs =", "  zlib_save = gz\n  zlib_save_level = 6\n  obox_fs =", 1)
        with open(self.st.config, "w") as f:
            f.write(text)
        self.st.start()
        new = b"Subject: new\r\n\r\n" + b"compressible " * 500
        r = self.put("z/new", new)
        self.assertLess(int(r.stdout.split()[1]), len(new) // 4)
        raw = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(self.st.dir, "objects"))
               for f in fs if f == "new"][0]
        with open(raw, "rb") as f:
            self.assertEqual(gzip.decompress(f.read()), new)
        self.assertEqual(self.get("z/new"), new)
        self.assertEqual(self.get("z/old"), plain)


if __name__ == "__main__":
    main()
