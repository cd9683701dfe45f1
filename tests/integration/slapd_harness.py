"""A throwaway OpenLDAP slapd on loopback for auth tests (recipes.md §1).

Loads Debian's core/cosine/inetorgperson/misc schemas plus a small
custom schema for the spec's messageQuotaHard and smiMessageRecipient,
seeds users with slapadd, and runs slapd in the foreground with
`-d stats` so a test can count the searches (SRCH lines) each login
costs. stop()/start() keep the database, to show slapd going down and
coming back."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

ARC = "2.25.48114990739003614082406153598283467687"
SCHEMA = f"""attributetype ( {ARC}.1.1 NAME 'messageQuotaHard'
	DESC 'Hard mailbox quota in KiB'
	EQUALITY integerMatch ORDERING integerOrderingMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( {ARC}.2.1 NAME 'smiMessageRecipient'
	DESC 'Mail recipient (test schema)'
	SUP top AUXILIARY
	MUST mailRoutingAddress
	MAY messageQuotaHard )
"""

BASE = "dc=example,dc=com"
ADMIN_DN = "cn=admin," + BASE
ADMIN_PW = "secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slappasswd(pw):
    return subprocess.run(["slappasswd", "-s", pw], check=True, capture_output=True,
                          text=True).stdout.strip()


class Slapd:
    """users: {uid: (mailRoutingAddress, password, quota_kib)}."""

    def __init__(self, users=None):
        self.dir = tempfile.mkdtemp(prefix="stratus-slapd-")
        self.port = free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.proc = None
        self.log_path = os.path.join(self.dir, "slapd.log")
        self.users = users or {"user%d" % i: ("user%d@example.com" % i, "pass%d" % i, i * 1024)
                               for i in (1, 2, 3)}
        os.makedirs(os.path.join(self.dir, "db"))
        with open(os.path.join(self.dir, "smi.schema"), "w") as f:
            f.write(SCHEMA)
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/misc.schema
include {self.dir}/smi.schema
pidfile {self.dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {slappasswd(ADMIN_PW)}
directory {self.dir}/db
index objectClass eq
index mailRoutingAddress eq
access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
access to * by * read
""")
        ldif = [f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
                f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n"]
        for uid, (mail, pw, quota) in self.users.items():
            ldif.append(f"""dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
objectClass: smiMessageRecipient
uid: {uid}
cn: {uid}
sn: {uid}
mailRoutingAddress: {mail}
messageQuotaHard: {quota}
userPassword: {slappasswd(pw)}
""")
        seed = os.path.join(self.dir, "seed.ldif")
        with open(seed, "w") as f:
            f.write("\n".join(ldif))
        subprocess.run(["slapadd", "-q", "-f", self.conf, "-l", seed], check=True,
                       capture_output=True)

    def start(self):
        self.log = open(self.log_path, "a")
        env = dict(os.environ, LDAPNOINIT="1")
        self.proc = subprocess.Popen(["slapd", "-f", self.conf, "-h", self.uri + "/", "-d", "stats"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 10
        while time.time() < deadline:
            r = subprocess.run(["ldapsearch", "-x", "-H", self.uri, "-b", "", "-s", "base",
                                "-LLL", "namingContexts"], capture_output=True, env=env)
            if r.returncode == 0:
                return self
            time.sleep(0.05)
        raise AssertionError("slapd did not start:\n" + self.read_log())

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def search_count(self):
        """SRCH operations slapd has served so far (its -d stats log)."""
        return len(re.findall(r" SRCH base=", self.read_log()))

    def searches_for(self, fragment):
        return [l for l in self.read_log().splitlines() if "filter=" in l and fragment in l]

    def ldap_conf(self, path, **overrides):
        """Writes the spec's dovecot-ldap.conf.ext pointing at this slapd."""
        settings = {
            "hosts": "127.0.0.1:%d" % self.port,
            "dn": ADMIN_DN,
            "dnpass": ADMIN_PW,
            "base": BASE,
            "auth_bind": "yes",
            "blocking": "yes",
            "pass_attrs": ("\\\n  =user=%{ldap:mailRoutingAddress}, \\\n"
                           "  =password=%{ldap:userPassword}, \\\n"
                           "  =userdb_quota_rule=*:storage=%{ldap:messageQuotaHard}k"),
            "user_attrs": ("\\\n  =user=%{ldap:mailRoutingAddress}, \\\n"
                           "  =quota_rule=*:storage=%{ldap:messageQuotaHard}"),
            "pass_filter": "(mailRoutingAddress=%u)",
            "user_filter": "(mailRoutingAddress=%u)",
            "iterate_attrs": "mailRoutingAddress=user",
            "iterate_filter": "(objectClass= smiMessageRecipient)",
        }
        settings.update(overrides)
        with open(path, "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        return path
