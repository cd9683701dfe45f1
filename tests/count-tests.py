#!/usr/bin/env python3
"""Counts every test case that ran, from meson's testlog.json files: the
cases inside each cmocka program and each Python unittest file, and one
case per other test (systemd units, fuzz runs). A program that failed
after its cases passed (a sanitizer report at exit, a crash) counts as one
more failure. Prints "N passed, N failed, N skipped"."""

import json
import re
import sys


def count_one(t):
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    ok = t["result"] in ("OK", "EXPECTEDFAIL")
    skip_result = t["result"] == "SKIP"
    m = re.search(r"\[==========\] (\d+) test\(s\) run\.", out)
    if m:  # cmocka
        passed = sum(int(x) for x in re.findall(r"\[  PASSED  \] (\d+) test", out))
        failed = sum(int(x) for x in re.findall(r"\[  FAILED  \] (\d+) test", out))
        skipped = sum(int(x) for x in re.findall(r"\[  SKIPPED \] (\d+) test", out))
        return passed, failed + (0 if ok or failed else 1), skipped
    ran = re.findall(r"^Ran (\d+) tests? in", out, re.M)
    if ran:  # unittest (one or several runs)
        total = sum(int(x) for x in ran)
        failed = skipped = 0
        for status in re.findall(r"^(?:OK|FAILED)(?: \(([^)]*)\))?$", out, re.M):
            for kv in filter(None, (s.strip() for s in status.split(","))):
                k, _, v = kv.partition("=")
                if k in ("failures", "errors", "unexpected successes"):
                    failed += int(v)
                elif k == "skipped":
                    skipped += int(v)
        passed = total - failed - skipped
        return passed, failed + (0 if ok or failed else 1), skipped
    if skip_result:
        return 0, 0, 1
    return (1, 0, 0) if ok else (0, 1, 0)


def main():
    totals = [0, 0, 0]
    for path in sys.argv[1:]:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            totals[1] += 1
            continue
        for line in lines:
            for i, n in enumerate(count_one(json.loads(line))):
                totals[i] += n
    print("%d passed, %d failed, %d skipped" % tuple(totals))
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
