"""`stratusctl config` on Dovecot's own configuration (issue 17 part 5):
the `dict { NAME = URI }` section of the stock Debian dovecot.conf is
accepted, its names kept; a dict a Stratus setting refers to with
proxy::NAME is used (quota_clone_dict = proxy::clone writes the clone
file of the dict's file: URI after a real LMTP delivery), one nobody
refers to warns at start-up as accepted but not implemented.

The stock file (dovecot-core is installed for the bench) is loaded from a
copy of /etc/dovecot: each line still refused is commented out in the
copy and the load retried, so the test prints every remaining refusal by
file:line and message, checks that none of them is the dict section, and
that what is left loads."""

import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

from stratus_harness import SANITIZER_RE, STRATUSCTL, Stratus, main

STOCK = "/etc/dovecot"
REFUSAL_RE = re.compile(r"^stratusctl: (/[^:]+):(\d+): (.*)$")


def ctl_config(path):
    return subprocess.run([STRATUSCTL, "-c", path, "config", "-n"],
                          capture_output=True, text=True, timeout=30)


class StockConfigTest(unittest.TestCase):
    @unittest.skipUnless(os.path.exists(os.path.join(STOCK, "dovecot.conf")),
                         "dovecot-core is not installed")
    def test_stock_debian_config(self):
        tmp = tempfile.mkdtemp(prefix="stratus-stock-")
        try:
            root = os.path.join(tmp, "dovecot")
            shutil.copytree(STOCK, root, symlinks=True,
                            ignore=shutil.ignore_patterns("private"))
            main_conf = os.path.join(root, "dovecot.conf")
            with open(main_conf) as f:
                text = f.read()
            # the stock file's own dict section, uncommented names too
            self.assertRegex(text, r"(?m)^dict \{$")
            # absolute includes of the copy's own files point into the copy
            refused = []
            for _ in range(80):
                r = ctl_config(main_conf)
                if r.returncode == 0:
                    break
                m = REFUSAL_RE.match(r.stderr.strip().splitlines()[-1])
                self.assertIsNotNone(m, r.stderr)
                path, line, msg = m.group(1), int(m.group(2)), m.group(3)
                if not path.startswith(root):
                    # a file outside the copy (/usr/share/dovecot, a <file
                    # value under /etc/dovecot/private): refused where it is
                    refused.append("%s:%d: %s" % (path, line, msg))
                    self.fail("refusal outside the copy: " + refused[-1])
                with open(path) as f:
                    lines = f.read().split("\n")
                refused.append("%s:%d: %s  [%s]" % (os.path.relpath(path, root), line, msg,
                                                    lines[line - 1].strip()))
                lines[line - 1] = "#" + lines[line - 1]
                with open(path, "w") as f:
                    f.write("\n".join(lines))
            print("\nstock dovecot.conf: %d refusal(s) left after the dict section:" % len(refused))
            for x in refused:
                print("  " + x)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse([x for x in refused if "dict" in x.split("[")[-1]
                              and "dict {" in x], refused)
            self.assertFalse([x for x in refused if "section type 'dict'" in x], refused)
            # what is left is the machine's missing certificate files,
            # never a line of the stock configuration itself
            self.assertFalse([x for x in refused if "No such file" not in x], refused)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_dict_names_in_dump(self):
        tmp = tempfile.mkdtemp(prefix="stratus-dict-")
        try:
            path = os.path.join(tmp, "d.conf")
            with open(path, "w") as f:
                f.write("dict {\n  #quota = mysql:/etc/dovecot/dovecot-dict-sql.conf.ext\n"
                        "  acl = pgsql:/etc/dovecot/dovecot-dict-sql.conf.ext\n}\n")
            r = ctl_config(path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"dict \{\n\s+acl = pgsql:/etc/dovecot/dovecot-dict-sql.conf.ext\n\s*\}")
            self.assertNotIn("quota", r.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class DictUseTest(unittest.TestCase):
    USER = "user1@example.com"

    @classmethod
    def setUpClass(cls):
        cls.stratus = st = Stratus()
        with open(st.config, "a") as f:
            f.write(f"""
mail_plugins = $mail_plugins quota quota_clone
dict {{
  clone = file:{st.dir}/clone-%u
  acl = pgsql:/etc/dovecot/dovecot-dict-sql.conf.ext
}}
plugin {{
  quota = count:User quota
  quota_rule = *:storage=10M
  quota_clone_dict = proxy::clone
}}
""")
        st.start()

    @classmethod
    def tearDownClass(cls):
        text = cls.stratus.cleanup()
        m = SANITIZER_RE.search(text)
        if m:
            raise AssertionError("sanitizer report:\n" + text[max(0, m.start() - 2000):m.start() + 4000])

    def test_used_dict_resolves_unused_one_warns(self):
        log = self.stratus.read_log()
        self.assertRegex(log, r"setting dict/acl is accepted but not implemented")
        self.assertNotRegex(log, r"dict/clone")
        self.assertNotRegex(log, r"quota_clone_dict = proxy::clone")
        with smtplib.LMTP("127.0.0.1", self.stratus.ports["lmtp"]) as l:
            l.sendmail("a@example.net", [self.USER], "Subject: c\r\n\r\nbody\r\n")
        clone = os.path.join(self.stratus.dir, "clone-" + self.USER)
        deadline = time.time() + 10
        while not os.path.exists(clone) and time.time() < deadline:
            time.sleep(0.05)
        with open(clone) as f:
            text = f.read()
        self.assertEqual(text.split("\n")[2:4], ["priv/quota/messages", "1"])


if __name__ == "__main__":
    main()
