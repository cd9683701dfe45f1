#!/usr/bin/env python3
"""Writes bench/results/latest.md from one bench/run.sh run.

usage: report.py META.tsv RESULTS.tsv > latest.md
META.tsv: key<TAB>value (machine, versions, parameters).
RESULTS.tsv: server<TAB>workload<TAB>run<TAB>key<TAB>value, as recorded
by run.sh from the load generator's summary/stat lines and the process
tree measurements.

A figure is the median over the runs of a workload. A run with any error
(a wrong answer, a refused or timed-out command) does not give a figure:
the cell then says n/a with the reason, so a number in the table is
always a measured and verified one."""

import statistics
import sys
from collections import defaultdict

SERVERS = ("stratus", "stratus-s3", "dovecot-mdbox", "dovecot-maildir")
NA_STRATUS = "n/a (not implemented yet)"


def load(meta_path, res_path):
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    res = defaultdict(lambda: defaultdict(dict))   # res[(server, wl)][run][key]
    with open(res_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            s, wl, run, k, v = parts
            res[(s, wl)][run][k] = v
    return meta, res


class Report:
    def __init__(self, meta, res):
        self.meta, self.res = meta, res
        m = res.get(("stratus", "meta"), {}).get("0", {})
        self.stratus = {p: m.get(p) == "1" for p in ("imap", "lmtp", "pop3", "idle", "big")}
        self.why = {p: m.get("why_" + p, "") for p in self.stratus}
        self.stratus_reason = m.get("reason") or NA_STRATUS
        s3 = res.get(("stratus-s3", "meta"), {}).get("0", {})
        self.s3_ok = s3.get("ok") == "1"

    def stratus_na(self, server, proto):
        """Why a Stratus column has no figure for this protocol, or None."""
        if server not in ("stratus", "stratus-s3"):
            return None
        if not self.stratus[proto]:
            if server == "stratus" and self.stratus_reason == NA_STRATUS and \
                    self.why.get(proto):
                return "n/a (not implemented yet: %s)" % self.why[proto]
            return self.stratus_reason
        if server == "stratus-s3" and not self.s3_ok:
            return "n/a (S3 variant not run)"
        return None

    def not_run(self, server, wl=""):
        quick = self.meta.get("profile") != "full"
        if quick and server in ("dovecot-maildir", "stratus-s3"):
            return "(--full only)"
        if quick and wl.startswith("lmtpm_") and server in ("stratus-s3", "dovecot-mdbox"):
            return "(--full only)"
        return "n/a (not run)"

    def proto_of(self, wl):
        if wl.startswith("lmtp"):
            return "lmtp"
        return {"pop3": "pop3", "big": "big"}.get(wl, "imap")

    def value(self, server, wl, key, scale=1.0):
        """(median, None) or (None, reason)."""
        why = self.stratus_na(server, self.proto_of(wl))
        if why:
            return None, why
        runs = self.res.get((server, wl))
        if not runs:
            return None, self.not_run(server, wl)
        vals, bad = [], 0
        for r in runs.values():
            if r.get("rc", "0") != "0" or r.get("errors", "0") not in ("0", ""):
                bad += 1
                continue
            if key in r:
                try:
                    vals.append(float(r[key]) * scale)
                except ValueError:
                    pass
        if bad:
            return None, "n/a (errors in %d of %d runs)" % (bad, len(runs))
        if not vals:
            return None, "n/a (no data)"
        return statistics.median(vals), None

    def derived(self, server, wl, num_key, den_key, factor):
        """median over runs of num/den*factor (e.g. CPU per 1000 ops)."""
        why = self.stratus_na(server, self.proto_of(wl))
        if why:
            return None, why
        runs = self.res.get((server, wl))
        if not runs:
            return None, self.not_run(server, wl)
        vals = []
        for r in runs.values():
            if r.get("rc", "0") != "0":
                return None, "n/a (errors)"
            try:
                den = float(r[den_key])
                if den > 0:
                    vals.append(float(r[num_key]) / den * factor)
            except (KeyError, ValueError):
                pass
        return (statistics.median(vals), None) if vals else (None, "n/a (no data)")


def fmt(v, digits):
    if v is None:
        return None
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return ("{:.%df}" % digits).format(v)


def cell(pair, digits=1):
    v, why = pair
    return fmt(v, digits) if v is not None else why


def ratio(a, b):
    if a[0] is None or b[0] is None or b[0] == 0:
        return "–"
    return "%.2f×" % (a[0] / b[0])


def idle_values(rep, server):
    r = rep.res.get((server, "idle"), {}).get("1")
    why = rep.stratus_na(server, "idle")
    if why:
        return (None, why), (None, why)
    if not r:
        why = "(not in this row)" if server in ("dovecot-maildir", "stratus-s3") \
            else "n/a (not run)"
        return (None, why), (None, why)
    idling = int(r.get("idling") or 0)
    errors = r.get("errors") or "0"
    if idling == 0 or errors not in ("0", ""):
        why = "n/a (%d idling, %s errors)" % (idling, errors)
        return (None, why), (None, why)
    total = float(r["pss_kb"]) / 1024
    per = (float(r["pss_kb"]) - float(r["pss_base_kb"])) / idling
    return (total, None), (per, None)


def main():
    meta, res = load(sys.argv[1], sys.argv[2])
    rep = Report(meta, res)
    m = meta
    lo, hi = m["clients"].split()
    out = []
    w = out.append
    w("# Stratus vs Dovecot CE — benchmark results (%s profile)" % m["profile"])
    w("")
    w("Generated by `bench/run.sh --%s` on %s; both servers on this machine, "
      "same users, corpus and load, runs alternating between servers; each figure is the "
      "median of %s runs. Every answer was checked by `stratus-loadgen`; a run with any "
      "wrong answer or error gives no figure (n/a)." % (m["profile"], m["date"], m["runs"]))
    w("")
    w("Ratios are Stratus ÷ Dovecot: above 1 is better for rates, below 1 is better for "
      "latency, memory and CPU.")
    w("")
    w("| # | figure | Stratus (posix) | Stratus (S3, s3rver) | Dovecot mdbox | Dovecot maildir "
      "| Stratus posix ÷ mdbox | Stratus posix ÷ maildir |")
    w("|---|---|---|---|---|---|---|---|")

    def row(num, label, getter, digits=1):
        vals = [getter(s) for s in SERVERS]
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            num, label, cell(vals[0], digits), cell(vals[1], digits), cell(vals[2], digits),
            cell(vals[3], digits), ratio(vals[0], vals[2]), ratio(vals[0], vals[3])))

    row("1", "IMAP sessions/s, %s clients (login, mix, logout)" % lo,
        lambda s: rep.value(s, "sess_lo", "sessions_per_s"))
    row("1", "IMAP sessions/s, %s clients (%s s window)" % (hi, m.get("duration_sess_hi_s", m["duration_s"])),
        lambda s: rep.value(s, "sess_hi", "sessions_per_s"))
    row("1", "IMAP commands/s, %s clients (no logouts)" % lo,
        lambda s: rep.value(s, "cmd_lo", "commands_per_s"))
    row("1", "IMAP commands/s, %s clients" % hi,
        lambda s: rep.value(s, "cmd_hi", "commands_per_s"))
    row("2", "p99 FETCH BODY[] ms, %s-message mailbox" % m["big"],
        lambda s: rep.value(s, "big", "FETCH_BODY.p99_ms"), 2)
    row("2", "p99 SELECT ms, %s-message mailbox" % m["big"],
        lambda s: rep.value(s, "big", "SELECT.p99_ms"), 2)
    idle = {s: idle_values(rep, s) for s in SERVERS + ("dovecot-hibernate",)}
    row("3", "PSS total MiB, %s IDLE connections" % m["idle_k"], lambda s: idle[s][0])
    row("3", "PSS KiB per IDLE connection", lambda s: idle[s][1])
    hib_t, hib_p = idle["dovecot-hibernate"]
    w("| 3 | Dovecot mdbox with imap_hibernate_timeout = %ss: PSS total MiB / KiB per connection | | | %s / %s | | %s (per conn.) | |" % (
        m["hibernate_s"], cell(hib_t), cell(hib_p), ratio(idle["stratus"][1], hib_p)))
    conns, size = m["lmtp"].split()
    row("4", "LMTP deliveries/s, %s B messages, %s connections" % (size, conns),
        lambda s: rep.value(s, "lmtp", "deliveries_per_s"))
    row("5", "POP3 RETR of %s messages: seconds per session" % m["pop_msgs"],
        lambda s: rep.value(s, "pop3", "seconds_per_session"), 3)
    row("5", "POP3 RETR throughput MB/s", lambda s: rep.value(s, "pop3", "mb_per_s"))
    objreq = res.get(("stratus", "objreq"), {}).get("1", {})

    def parse_req(s):
        try:
            f = s.split()
            return {f[i]: float(f[i + 1]) for i in range(0, len(f), 2)}
        except (AttributeError, IndexError, ValueError):
            return None

    def minus(a, b):
        """requests of a session with an operation minus the bare session"""
        pa, pb = parse_req(objreq.get(a)), parse_req(objreq.get(b))
        if pa is None or pb is None:
            return objreq.get(a)
        return " ".join("%s %g" % (k, pa[k] - pb.get(k, 0)) for k in pa)

    lines = (("delivery", "delivery (LMTP, 1 recipient)", objreq.get("delivery")),
             ("delivery", "delivered message (LMTP, one transaction with 10 recipients)",
              objreq.get("delivery_10rcpt")),
             ("select_cold_session", "SELECT, cold (first session after a restart, "
              "without the local index and body caches; LOGIN/SELECT/LOGOUT)", objreq.get("select_cold_session")),
             ("select_warm_session", "SELECT, warm (LOGIN/SELECT/LOGOUT again)",
              objreq.get("select_warm_session")),
             ("fetch_uncached_session", "FETCH BODY[] of a body not in the local cache "
              "(session minus the warm SELECT session)",
              minus("fetch_uncached_session", "select_warm_session")),
             ("fetch_cached_session", "FETCH BODY[] of the same body again",
              minus("fetch_cached_session", "select_warm_session")))
    for key, label, v in lines:
        if not v:
            v = rep.stratus_reason if (key == "delivery" and not rep.stratus["lmtp"]) or \
                (key != "delivery" and not rep.stratus["imap"]) else "n/a (not measured)"
        w("| 6 | object-storage requests per %s | %s | | no object storage | no object storage | | |" % (label, v))
    row("7", "CPU seconds per 1,000 LMTP deliveries",
        lambda s: rep.derived(s, "lmtp", "cpu_s", "deliveries", 1000), 2)
    row("7", "CPU seconds per 1,000 IMAP commands (%s clients)" % lo,
        lambda s: rep.derived(s, "cmd_lo", "cpu_s", "commands", 1000), 2)
    row("7", "CPU seconds per 1,000 IMAP commands (%s clients)" % hi,
        lambda s: rep.derived(s, "cmd_hi", "cpu_s", "commands", 1000), 2)
    w("")

    matrix = sorted({wl for (_, wl) in res if wl.startswith("lmtpm_")},
                    key=lambda wl: tuple(int(x) for x in wl.split("_")[1:]))
    if matrix:
        w("## LMTP matrix (issue #7): messages/s and recipient deliveries/s")
        w("")
        w("Generated messages of the given size to random `lmtp…` users, %s s per cell, "
          "median of %s run(s)%s. With R recipients one message is one transaction with R "
          "RCPT TO and R replies after the data." % (
              m.get("matrix_dur", "?"), m.get("matrix_runs", "?"),
              "" if m["profile"] == "full" else
              "; --quick measures Stratus (posix) and Dovecot maildir only"))
        w("")
        w("| size | connections | recipients | " + " | ".join(
            "%s msg/s (deliveries/s)" % s for s in SERVERS) + " | Stratus posix ÷ maildir (deliveries) |")
        w("|---|---|---|" + "---|" * len(SERVERS) + "---|")
        for wl in matrix:
            _, size, conns, rcpts = wl.split("_")
            cells, dels = [], []
            for srv in SERVERS:
                msgs = rep.value(srv, wl, "messages_per_s")
                d = rep.value(srv, wl, "deliveries_per_s")
                dels.append(d)
                cells.append("%s (%s)" % (cell(msgs), cell(d)) if msgs[0] is not None
                             else msgs[1])
            w("| %s KB | %s | %s | %s | %s |" % (int(size) // 1024, conns, rcpts,
                                              " | ".join(cells), ratio(dels[0], dels[3])))
        w("")

    w("## Per-command latency, IMAP commands workload, %s clients (median of runs)" % lo)
    w("")
    ops = ("LOGIN", "SELECT", "FETCH_FLAGS", "FETCH_HEADERS", "FETCH_BODY", "STORE",
           "SEARCH", "APPEND", "EXPUNGE")
    w("| command | " + " | ".join("%s p50 / p99 ms" % s for s in SERVERS) + " |")
    w("|---|" + "---|" * len(SERVERS))
    for op in ops:
        cells = []
        for s in SERVERS:
            p50 = rep.value(s, "cmd_lo", op + ".p50_ms")
            p99 = rep.value(s, "cmd_lo", op + ".p99_ms")
            cells.append("%s / %s" % (cell(p50, 2), cell(p99, 2)) if p50[0] is not None
                         else p50[1])
        w("| %s | %s |" % (op, " | ".join(cells)))
    w("")

    w("## Machine and versions")
    w("")
    for k in ("cores", "cpu", "memory", "kernel", "os", "dovecot", "stratus"):
        w("- %s: %s" % (k, m.get(k, "?")))
    if m.get("stratus", "").endswith("-dirty"):
        w("  (built from the working tree at that commit, including work in progress that "
          "was not committed yet: Stratus figures show what it could do at that moment)")
    w("- load average (1/5/15 min): %s — the machine is shared by several engineers "
      "building and testing, so other work adds noise; alternating runs spread it over "
      "every server" % m.get("loadavg", "?"))
    w("")
    w("## Parameters")
    w("")
    w("- profile `--%s`, %s runs per workload, %s s measured per run, whole run took %s s "
      "(after the build)" % (
        m["profile"], m["runs"], m["duration_s"], m["elapsed_s"]))
    w("- users: %s mailboxes `bench001…` with %s messages each (corpus seed %s, mixed "
      "text/HTML/attachments, at most %s bytes); client i always uses user i, so checks are exact" % (
          m["users"], m["per_user"], m["seed"], m["user_max"]))
    w("- corpus: %s" % m["corpus"].replace("corpus: ", "").rstrip(";").replace(";", "; "))
    w("- IMAP mix per round: `%s` (append = APPEND of a \\Deleted message then EXPUNGE; "
      "FETCH BODY[] is `BODY.PEEK[]` of a random message; headers = last 10 messages)" % m["mix"])
    w("- sessions workload: connect, LOGIN, SELECT INBOX, one round, LOGOUT, repeat; "
      "commands workload: LOGIN and SELECT once, then rounds until the window closes")
    w("- large mailbox: user `big1` with %s generated 2 KB messages; one client alternating "
      "SELECT INBOX and FETCH BODY[] of a random message" % m["big"])
    w("- idle: %s connections (LOGIN, SELECT, IDLE), PSS summed over every process of the "
      "server from /proc/PID/smaps_rollup, per connection = (held − before) / connections; "
      "hibernation measured %s s after IDLE started" % (m["idle_k"], int(m["hibernate_s"]) + 2))
    w("- LMTP: %s connections, 1 recipient, %s-byte generated messages, pipelined when "
      "PIPELINING is offered; POP3: one client, USER/PASS/STAT/RETR 1..n/QUIT on `pop1` "
      "(%s messages up to 128 KB)" % (conns, size, m["pop_msgs"]))
    w("- CPU: user+sys from /proc/PID/stat of every process of the server, including "
      "reaped children (cutime/cstime), over the run")
    w("- Dovecot: `bench/dovecot/dovecot.conf.in` — mail_fsync = never, login processes "
      "in high-performance mode, process_limit 20000, loopback only")
    w("- Stratus: `stratusctl run` on the run's temp folder, objects through a local fscache "
      "and indexes gzip-compressed as in the reference backend; posix object storage, and "
      "the tests' SigV4-checking s3rver for the S3 column (run only once Stratus serves)")
    if m["profile"] != "full":
        w("- --%s is smaller than the issue asks: %s-message large mailbox instead of "
          "100,000, %s IDLE connections instead of 10,000, %s messages of at most %s bytes "
          "per user, the S3 column and Dovecot maildir on fewer rows; `--full` has the "
          "issue's sizes" % (m["profile"], m["big"], m["idle_k"], m["per_user"], m["user_max"]))
    if m.get("bench_sizes"):
        w("- sizes set with `BENCH_SIZES=\"%s\"` instead of the profile's own (the lines "
          "above show the sizes used)" % m["bench_sizes"])
    if m.get("state_reused") == "1":
        w("- Stratus (posix) started from the preloaded state that an earlier run with the "
          "same binaries, harness and sizes kept in /tmp (filled by the same LMTP preload)")
    phases = [p.split("=") for p in m.get("phases_ms", "").split(";") if "=" in p]
    if phases:
        w("- wall time per phase (s): " + ", ".join(
            "%s %.1f" % (k, int(v) / 1000) for k, v in phases))
    w("")
    w("Reproduce: `make bench` (or `bench/run.sh --quick`; `--full` for the issue's sizes). "
      "Raw per-run records: `bench/results/%s.tsv`." % (
          {"smoke": "smoke", "full": "full"}.get(m["profile"], "latest")))
    print("\n".join(out))


if __name__ == "__main__":
    main()
