"""Helper of bench/auth/run.sh: writes the slapd and Stratus configurations,
counts slapd operations, and turns the measurements into results.md.

  authbench.py setup DIR USERS        prints shell assignments (eval them)
  authbench.py ops SLAPD_LOG          prints "SRCH BIND" counts so far
  authbench.py counters TEXT...       svc-auth status counters as "k=v ..."
  authbench.py report TSV OUT.md KEY=VALUE...

The slapd database and the spec's dovecot-ldap.conf.ext come from
tests/integration/slapd_harness.py (same schema, same settings), with the
{SSHA} hashes computed here instead of one slappasswd process per user.
The Stratus configurations come from tests/integration/stratus_harness.py
with the LDAP passdb + prefetch userdb of test_auth_ldap.py."""

import base64
import hashlib
import os
import re
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

# svc-auth settings shared by every service set: no failure delay and the
# spec's penalty-off anvil block, so a wrong password costs its lookup
# only; names are taken as given (the LDAP passdb normalises them).
COMMON = """auth_failure_delay = 0
auth_username_format = %u
auth_username_chars =
auth_cache_ttl = 1 hour
auth_cache_negative_ttl = 1 hour
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
"""

SCENARIOS = [
    # name, auth_cache_size, passdb
    ("ldap-cold", "0", "ldap"),
    ("ldap-warm", "10M", "ldap"),
    ("passwd-file", "0", "passwd-file"),
]


def ssha(password):
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def setup(work, n_users):
    tempfile.tempdir = work
    import slapd_harness
    import stratus_harness
    slapd_harness.slappasswd = ssha
    users = {"user%d" % i: ("user%d@example.com" % i, "pass%d" % i, i * 1024)
             for i in range(1, n_users + 1)}
    slapd = slapd_harness.Slapd(users)
    # The spec's iterate_filter has a stray space after '='; as in the
    # tests, the bench uses it corrected (iteration is not measured).
    ldap_conf = slapd.ldap_conf(os.path.join(slapd.dir, "dovecot-ldap.conf.ext"),
                                iterate_filter="(objectClass=smiMessageRecipient)")
    out = {
        "SLAPD_DIR": slapd.dir,
        "SLAPD_CONF": slapd.conf,
        "SLAPD_URI": slapd.uri,
        "SLAPD_LOG": slapd.log_path,
    }
    pwfile = os.path.join(work, "users.passwd")
    with open(pwfile, "w") as f:
        for uid, (mail, pw, _quota) in users.items():
            f.write("%s:%s::::::\n" % (mail, ssha(pw)))
    for name, cache, passdb in SCENARIOS:
        if passdb == "ldap":
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
        else:
            auth = f"""passdb {{
  driver = passwd-file
  args = {pwfile}
}}
userdb {{
  driver = static
  args = home={work}/home/%2Mu/%u
}}"""
        st = stratus_harness.Stratus(COMMON + "auth_cache_size = %s\n" % cache,
                                     auth_config=auth)
        key = name.replace("-", "_").upper()
        out["CONF_" + key] = st.config
        out["SOCK_" + key] = os.path.join(st.run_dir, "stratus-auth")
        out["LOG_" + key] = st.log_path
    for k, v in out.items():
        print("%s=%s" % (k, shell_quote(v)))


def ops(log_path):
    srch = bind = 0
    with open(log_path, errors="replace") as f:
        for line in f:
            if " SRCH base=" in line:
                srch += 1
            elif " BIND dn=" in line and " method=" in line:
                # a successful bind logs a second "BIND dn=... mech=" line
                bind += 1
    print(srch, bind)


def counters(text):
    found = dict(re.findall(r"(\w+)=(\d+)", text))
    print(" ".join("%s=%s" % (k, found.get(k, "0"))
                   for k in ("ldap_searches", "ldap_binds", "cache_hits")))


COLS = ["scenario", "run", "logins", "ok", "rejected", "errors", "seconds",
        "rate", "p50_ms", "p99_ms", "srch", "bind", "svc_searches",
        "svc_binds", "cache_hits"]


def fmt(v, digits):
    return ("%%.%df" % digits) % v


def report(tsv, out_path, meta):
    rows = []
    with open(tsv) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "scenario":
                continue
            r = dict(zip(COLS, parts))
            for k in COLS[1:]:
                r[k] = float(r[k])
            rows.append(r)
    labels = {
        "ldap-cold": "LDAP, cache cold (`auth_cache_size = 0`)",
        "ldap-warm": "LDAP, cache warm (`auth_cache_size = 10M`, every user logged in once before)",
        "passwd-file": "passwd-file ({SSHA}), no cache",
    }
    lines = []
    lines.append("| passdb | logins/s | p50 ms | p99 ms | LDAP SRCH / login | "
                 "LDAP BIND / login | svc-auth searches / login | svc-auth binds / login "
                 "| cache hits / login | wrong answers |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _cache, _passdb in SCENARIOS:
        rs = [r for r in rows if r["scenario"] == name]
        if not rs:
            continue

        def med(k, per_login=False):
            vals = [(r[k] / r["logins"]) if per_login else r[k] for r in rs]
            return statistics.median(vals)
        errors = int(sum(r["errors"] for r in rs))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            labels[name], fmt(med("rate"), 0), fmt(med("p50_ms"), 2),
            fmt(med("p99_ms"), 2), fmt(med("srch", True), 3),
            fmt(med("bind", True), 3), fmt(med("svc_searches", True), 3),
            fmt(med("svc_binds", True), 3), fmt(med("cache_hits", True), 3),
            errors))
    per_run = ["| passdb | run | logins | right | rejected | errors | s | logins/s "
               "| p50 ms | p99 ms | SRCH | BIND |", "|---|---:|---:|---:|---:|---:|---:|"
               "---:|---:|---:|---:|---:|"]
    for r in rows:
        per_run.append("| %s | %d | %d | %d | %d | %d | %s | %s | %s | %s | %d | %d |" % (
            r["scenario"], r["run"], r["logins"], r["ok"], r["rejected"], r["errors"],
            fmt(r["seconds"], 2), fmt(r["rate"], 0), fmt(r["p50_ms"], 2),
            fmt(r["p99_ms"], 2), r["srch"], r["bind"]))
    bad, users = int(meta["bad_every"]), int(meta["users"])
    meta["wrong_users"] = len({s % users for s in range(int(meta["logins_fast"]))
                               if bad > 0 and s % bad == bad - 1})
    text = TEMPLATE.format(table="\n".join(lines), per_run="\n".join(per_run), **meta)
    with open(out_path, "w") as f:
        f.write(text)


TEMPLATE = """# svc-auth: logins per second (bench/auth)

Written by `bench/auth/run.sh` on {date} from commit `{commit}`.
Medians of {runs} runs per row; the runs of the three rows alternate.
To reproduce: build (`meson compile -C BUILD`), then
`AUTHBENCH_BUILD=BUILD bench/auth/run.sh` (about a minute; `--smoke` for
a few seconds without touching this file).

{table}

- **logins/s**: SASL PLAIN logins answered (and checked) per second by
  svc-auth through its RPC socket, {concurrency} in flight over
  {connections} connections (`auth-bench`). Every answer was checked: a
  right password must succeed with the normalised user, a wrong one must
  fail; 1 login in {bad_every} uses a wrong password and counts as a
  login. "wrong answers" is the total over all runs of that row.
- The wrong passwords repeat: logins go to the users in turn, so the
  same {wrong_users} users always send the same wrong password (a client
  with a stale saved password). svc-auth's cache answers a repeated
  wrong password too, which is why the warm row reaches LDAP only in
  its first run (for those {wrong_users} users) and not afterwards.
- **LDAP SRCH / BIND per login**: operations in slapd's `-d stats` log
  during the measured run (`SRCH base=` lines, `BIND dn=... method=`
  lines) divided by the logins of the run. BIND counts the auth_bind as
  the user (every login that reaches LDAP, right password or wrong) and
  any bind as `dn` of a new worker connection. svc-auth's own counters
  (`stratusctl status auth`: ldap_searches, ldap_binds, cache_hits) are
  shown beside them as a cross-check.
- LDAP logins use `User<N>@Example.COM` and must come back as
  `user<N>@example.com` (`=user=%{{ldap:mailRoutingAddress}}`); passwd-file
  logins use the lower-case name.

## Parameters

| | |
|---|---|
| users | {users} (`user1..user{users}`, `{{SSHA}}` passwords, in slapd and in the passwd-file) |
| logins per run | {logins_cold} (LDAP cold), {logins_fast} (LDAP warm, passwd-file) |
| concurrency / RPC connections | {concurrency} / {connections} |
| wrong passwords | 1 login in {bad_every} |
| LDAP | slapd {slapd_version}, back_mdb, `-d stats`; `auth_bind = yes`, `blocking = yes`, `auth_worker_max_count` default (30), the spec's `pass_attrs`/`user_attrs`, userdb prefetch then ldap |
| svc-auth | `auth_failure_delay = 0`, penalty off (`anvil-auth-penalty` `mode = 0`), `auth_cache_ttl = 1 hour` |
| build | `{build}` (meson debugoptimized: -O2 -g, no sanitizers) |

## Machine

| | |
|---|---|
| CPUs (nproc) | {nproc} ({cpu}) |
| memory | {mem} |
| load average (1/5/15 min) at start / end | {load_start} / {load_end} |
| kernel | {kernel} |

Everything (slapd, the three Stratus service sets, auth-bench) ran on this
machine at once, so the figures include slapd's CPU time competing with
svc-auth's. The machine was shared with other work while measuring (see
the load average): compare rows with each other rather than with other
machines.

## Every run

{per_run}

## Not measured

- Dovecot: `doveadm auth test` forks a process per login and would
  measure doveadm, not Dovecot's auth; driving Dovecot's auth-client
  socket is out of scope here, so there is no Dovecot row.
- LOGIN mechanism (two round trips) and IMAP/POP3 front ends: this is
  svc-auth's RPC alone.
"""


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "setup" and len(sys.argv) == 4:
        setup(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ops" and len(sys.argv) == 3:
        ops(sys.argv[2])
    elif cmd == "counters":
        counters(" ".join(sys.argv[2:]))
    elif cmd == "report" and len(sys.argv) >= 4:
        meta = dict(a.split("=", 1) for a in sys.argv[4:])
        report(sys.argv[2], sys.argv[3], meta)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
