#!/usr/bin/env python3
"""Profiles svc-lmtp/svc-pop3 (and the services they call) under
stratus-loadgen: starts Stratus from a meson build (tests' harness),
optionally fills a POP3 maildrop, then runs the load with perf record
(cpu-clock: this machine has no hardware counters) on every service, and
prints msg/s or RETR time, svc-blob's object request counters per
delivery, and the top functions per process.

  bench/profile-lmtp.sh BUILD [size rcpts conns seconds]
  bench/profile-pop3.sh BUILD [messages size]  (size "corpus": bench/run.sh's
                                                 POP3 corpus of that many)

PROFILE_STRACE=1 counts system calls per process instead (strace -c -f),
PROFILE_NONE=1 only times the load (no profiler slowing it down),
PROFILE_SESSIONS=N runs N POP3 sessions one after the other (default 1),
PROFILE_CONFIG="..." adds configuration (e.g. "mail_fsync = never", as
bench/run.sh runs Stratus).
"""
import os
import re
import subprocess
import sys
import time

BUILD = os.path.abspath(sys.argv[2])
os.environ["STRATUS_BUILD_DIR"] = BUILD
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../tests/integration"))
from stratus_harness import Stratus  # noqa: E402

LG = os.path.join(BUILD, "bench", "stratus-loadgen")
MODE = sys.argv[1]
ARGS = sys.argv[3:]
USERS = {"lmtp%03u@example.com" % i: "bench" for i in range(1, 41)}
USERS["pop1@example.com"] = "bench"


def pids(st):
    out = subprocess.run(["pgrep", "-P", str(st.proc.pid), "-a"],
                         capture_output=True, text=True).stdout
    return {line.split()[1].rsplit("/", 1)[-1]: int(line.split()[0])
            for line in out.splitlines()}


def counters(st):
    out = st.ctl("fs", "stats").stdout
    return {k: int(v) for k, v in re.findall(r"^(\w+_2xx) (\d+)$", out, re.M)}


def perf_run(st, cmd, label):
    procs = pids(st)
    want = [p for n, p in procs.items()
            if n in ("stratus-lmtp", "stratus-pop3", "stratus-index",
                     "stratus-blob")]
    if os.environ.get("PROFILE_STRACE"):
        strace_run(cmd, procs, want)
        return
    if os.environ.get("PROFILE_NONE"):
        out = subprocess.run(cmd, capture_output=True, text=True)
        print(out.stdout.strip())
        return
    data = "/tmp/profile-%s.data" % label
    perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g",
                             "-o", data, "-p", ",".join(map(str, want))],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.time() - t0
    perf.send_signal(2)
    perf.wait(timeout=60)
    print(out.stdout.strip())
    print("elapsed %.2f s" % elapsed)
    print(subprocess.run(["perf", "report", "-i", data, "--no-children",
                          "--sort", "comm", "--stdio"],
                         capture_output=True, text=True).stdout
          .split("\n# Overhead", 1)[-1][:600])
    for name, pid in procs.items():
        if pid not in want:
            continue
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children",
                              "--comm", name[:15], "--stdio", "-g", "none",
                              "--percentage", "relative",
                              "--percent-limit", "1.5"],
                             capture_output=True, text=True).stdout
        lines = [l for l in rep.splitlines() if l.strip() and
                 not l.startswith("#")][:15]
        print("--- %s (pid %d)" % (name, pid))
        print("\n".join(lines))


def strace_run(cmd, procs, want):
    """System calls per process while cmd runs (strace -c, one per pid)."""
    tracers = {}
    for name, pid in procs.items():
        if pid in want:
            out = "/tmp/profile-strace-%s.txt" % name
            tracers[name] = (out, subprocess.Popen(
                ["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.time() - t0
    print(out.stdout.strip())
    print("elapsed %.2f s" % elapsed)
    for name, (path, proc) in tracers.items():
        proc.send_signal(2)
        proc.wait(timeout=30)
        with open(path) as f:
            lines = f.read().splitlines()
        print("--- %s: syscalls" % name)
        print("\n".join(lines[:12] + lines[-2:]))


def pop_corpus(n):
    """The bench's POP3 corpus (bench/run.sh gen_corpus corpus-pop), kept
    in /tmp by count."""
    out = "/tmp/stratus-profile-pop3-corpus-%d" % n
    if not os.path.isdir(out):
        tmp = out + ".new.%d" % os.getpid()
        subprocess.run(["python3", os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "corpus", "gen-corpus.py"),
            "--out", tmp, "--count", str(n), "--seed", "43",
            "--max-size", "131072"], check=True, capture_output=True)
        os.rename(tmp, out)
    return out


def main():
    # the bench's index upload policy (bench/run.sh), not the harness's
    st = Stratus(users=USERS, extra="plugin {\n  metacache_delay_uploads = yes\n}\n"
                 + os.environ.get("PROFILE_CONFIG", ""))
    if MODE == "pop3":
        # bench/run.sh's storage: bodies through a local fscache, indexes
        # compressed (what its POP3 row measures)
        with open(st.config) as f:
            conf = f.read()
        objs = "posix:prefix=%s/objects/" % st.dir
        conf = conf.replace("obox_fs = " + objs, "obox_fs = fscache:512M:%s/fscache:%s"
                            % (st.dir, objs))
        conf = conf.replace("obox_index_fs = " + objs,
                            "obox_index_fs = compress:gz:6:" + objs)
        with open(st.config, "w") as f:
            f.write(conf)
    st.start()
    try:
        if MODE == "lmtp":
            size, rcpts, conns, secs = (ARGS + ["4096", "1", "4", "5"]
                                        [len(ARGS):])[:4]
            before = counters(st)
            perf_run(st, [LG, "lmtp", "--port", str(st.ports["lmtp"]),
                          "--clients", conns, "--rcpts", rcpts,
                          "--msg-size", size, "--users", "40",
                          "--user-fmt", "lmtp%03u@example.com",
                          "--duration", secs], "lmtp")
            after = counters(st)
            print("blob counters delta:",
                  {k: after.get(k, 0) - before.get(k, 0) for k in after})
        else:
            n, size = (ARGS + ["1000", "4096"][len(ARGS):])[:2]
            if size == "corpus":
                # bench/run.sh's POP3 maildrop: its corpus (sizes up to
                # 128 KB, p50 13 KB, half of them with lines starting
                # with '.'), same generator, seed and count
                files = pop_corpus(int(n))
                what = ["--files", files, "--any-order"]
            else:
                what = ["--msg-size", size, "--max-messages", n]
            subprocess.run([LG, "lmtp", "--port", str(st.ports["lmtp"]),
                            "--clients", "2", "--rcpts", "1",
                            "--users", "1", "--user-fmt", "pop%u@example.com",
                            "--duration", "0"] + what,
                           check=True, capture_output=True)
            perf_run(st, [LG, "pop3", "--port", str(st.ports["pop3"]),
                          "--clients", "1", "--max-sessions",
                          os.environ.get("PROFILE_SESSIONS", "1"),
                          "--duration", "0", "--users", "1",
                          "--user-fmt", "pop%u@example.com",
                          "--expect-messages", n], "pop3")
    finally:
        st.stop()


main()
