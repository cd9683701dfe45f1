#!/usr/bin/env python3
"""Sieve cost at LMTP delivery: deliveries/s with no script vs a 50-rule
script (header, address, envelope, size and body tests, fileinto).

First the interpreter alone: lib/sieve/sieve-run-bench runs the compiled
50-rule script (and a one-line `keep;`) over a 4 KiB message 20,000 times.
Then end to end: starts one Stratus service set with the test harness (posix object
storage in a temporary folder, `mail_plugins = sieve` for lmtp), gives
half of the users the 50-rule script over ManageSieve and leaves the other
half without one, then drives the same server with `stratus-loadgen lmtp`
alternately at each half: 3 runs each, medians. Writes results.md beside
this file. Runs in well under a minute.

  bench/sieve/bench-sieve.py [--build DIR] [--seconds S] [--clients N]

--build is a build folder holding svc-*/ and bench/stratus-loadgen (a
plain -O2 build: sanitizer builds measure the sanitizer)."""

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
USERS = 4


def rules_script():
    """50 rules that a bench message mostly does not match (the usual
    case: every rule is evaluated), the last files it."""
    r = ['require ["fileinto", "mailbox", "body", "envelope", "relational",'
         ' "comparator-i;ascii-numeric", "imap4flags"];']
    for i in range(14):
        r.append('if header :contains "subject" "project-%d" '
                 '{ fileinto :create "Projects/p%d"; stop; }' % (i, i))
    for i in range(12):
        r.append('if address :domain :is "from" "list%d.example.net" '
                 '{ fileinto :create "Lists/l%d"; stop; }' % (i, i))
    for i in range(6):
        r.append('if envelope :localpart :is "from" "owner-list%d" '
                 '{ fileinto :create "Owners"; stop; }' % i)
    for i in range(6):
        r.append('if header :matches "List-Id" "*<team%d.example.net>*" '
                 '{ fileinto :create "Teams/t%d"; stop; }' % (i, i))
    for i in range(6):
        r.append('if body :text :contains "unsubscribe-token-%d" '
                 '{ addflag "\\\\Seen"; fileinto :create "Bulk"; stop; }' % i)
    r.append('if size :over 10M { fileinto :create "Large"; stop; }')
    r.append('if header :value "ge" :comparator "i;ascii-numeric" '
             '"X-Spam-Score" "8" { fileinto :create "Junk"; stop; }')
    r.append('if anyof (header :contains "X-Priority" "5", '
             'header :is "Precedence" "bulk") { fileinto :create "Bulk"; stop; }')
    r.append('if exists "X-No-Such-Header" { discard; stop; }')
    r.append('if not address :all :contains ["to", "cc"] "@example.com" '
             '{ fileinto :create "Elsewhere"; stop; }')
    r.append('if allof (header :contains "subject" "bench", '
             'address :is "from" "sender@example.org") '
             '{ fileinto :create "Bench"; stop; }')
    assert len(r) == 51, len(r)   # require + 50 rules
    return "\r\n".join(r) + "\r\n"


def start(build):
    os.environ["STRATUS_BUILD_DIR"] = build
    sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
    from stratus_harness import Stratus
    users = {"nos%03d@example.com" % i: "p" for i in range(USERS)}
    users.update({"siv%03d@example.com" % i: "p" for i in range(USERS)})
    extra = ("protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n}\n"
             "plugin {\n  sieve_max_actions = 32\n}\n")
    return Stratus(extra, users=users).start()


def put_scripts(stratus, script):
    sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
    from test_managesieve import Sieve
    for i in range(USERS):
        c = Sieve(stratus.ports["sieve"])
        try:
            st = c.login("siv%03d@example.com" % i, "p")
            assert st.startswith(b"OK"), st
            st, _ = c.put("rules50", script)
            assert st.startswith(b"OK"), st
            st, _ = c.cmd('SETACTIVE "rules50"\r\n')
            assert st.startswith(b"OK"), st
        finally:
            c.close()


def interpreter_cost(build, script):
    """usec per message for script and for `keep;` (the message parse and
    the run's fixed costs), from lib/sieve/sieve-run-bench."""
    exe = os.path.join(build, "lib", "sieve", "sieve-run-bench")
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, text in (("rules", script), ("keep", "keep;\r\n")):
            path = os.path.join(d, name + ".sieve")
            with open(path, "w", newline="") as f:
                f.write(text)
            r = subprocess.run([exe, path, "20000"], capture_output=True,
                               text=True, timeout=120)
            m = re.search(r"usec_per_run=([\d.]+)", r.stdout)
            if r.returncode != 0 or m is None:
                raise SystemExit("sieve-run-bench failed: %s%s" % (r.stdout, r.stderr))
            out[name] = float(m.group(1))
    return out


def run_lg(loadgen, port, prefix, args, label):
    out = subprocess.run(
        [loadgen, "lmtp", "--port", str(port), "--clients", str(args.clients),
         "--rcpts", "1", "--msg-size", "4096", "--duration", str(args.seconds),
         "--user-fmt", prefix + "%03u@example.com", "--users", str(USERS),
         "--label", label],
        capture_output=True, text=True, timeout=args.seconds + 60)
    m = re.search(r"^summary .*deliveries_per_s=([\d.]+) errors=(\d+)",
                  out.stdout, re.M)
    if out.returncode != 0 or m is None or int(m.group(2)) != 0:
        raise SystemExit("loadgen failed (%d):\n%s%s" % (out.returncode, out.stdout, out.stderr))
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    loadgen = os.path.join(build, "bench", "stratus-loadgen")
    if not os.access(loadgen, os.X_OK):
        raise SystemExit("no %s: meson compile -C %s stratus-loadgen" % (loadgen, build))
    script = rules_script()
    cost = interpreter_cost(build, script)
    stratus = start(build)
    try:
        put_scripts(stratus, script)
        port = stratus.ports["lmtp"]
        # warm-up: creates the Bench folder and caches the binaries
        run_lg(loadgen, port, "siv", argparse.Namespace(
            clients=args.clients, seconds=1), "warmup")
        none, rules = [], []
        for i in range(args.runs):
            none.append(run_lg(loadgen, port, "nos", args, "none%d" % i))
            rules.append(run_lg(loadgen, port, "siv", args, "rules%d" % i))
        log = stratus.read_log()
        failed = len(re.findall(r"sieve.*(error|failed)", log, re.I))
        filed = len(re.findall(r"saved mail to Bench", log))
        delivered = len(re.findall(r"saved mail to ", log))
    finally:
        stratus.cleanup()
    mn, mr = statistics.median(none), statistics.median(rules)
    slower = (1 - mr / mn) * 100 if mn > 0 else 0.0
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write("# Sieve at LMTP delivery: 50-rule script vs no script\n\n")
        f.write("`bench/sieve/bench-sieve.py` on %s UTC, build `%s`: "
                "%d LMTP connections, 4 KiB generated messages, 1 recipient, "
                "%d s per run, %d alternating runs, medians.\n\n"
                % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
                   os.path.relpath(build, SRC) if build.startswith(SRC) else build,
                   args.clients, args.seconds, args.runs))
        f.write("| script | deliveries/s (median) | runs |\n|---|---|---|\n")
        f.write("| none | %.1f | %s |\n" % (mn, ", ".join("%.1f" % x for x in none)))
        f.write("| 50 rules | %.1f | %s |\n\n" % (mr, ", ".join("%.1f" % x for x in rules)))
        f.write("50-rule script: %.1f%% slower than no script (goal: under 20%%); "
                "%s.\n\nSieve errors in the service log: %d; deliveries filed "
                "into Bench by the script: %d of %d saved.\n\n"
                % (slower, "goal met" if slower < 20 else "goal NOT met", failed,
                   filed, delivered))
        f.write("Interpreter alone (`lib/sieve/sieve-run-bench`, 20,000 runs "
                "over the same 4 KiB message, parse included): 50 rules "
                "%.1f us per message, `keep;` %.1f us; the rules cost %.1f us, "
                "%.2f%% of one delivery at the no-script median (%.1f ms).\n"
                % (cost["rules"], cost["keep"], cost["rules"] - cost["keep"],
                   (cost["rules"] - cost["keep"]) / 1e4 * mn if mn > 0 else 0.0,
                   1000.0 / mn if mn > 0 else 0.0))
    print(open(os.path.join(HERE, "results.md")).read())


if __name__ == "__main__":
    main()
