"""PUT/GET throughput of svc-blob against the same S3 server reached
directly with curl (@20minutes/s3rver, SigV4-checked, on loopback).

Both sides pay one process per object (stratusctl fs put/get, or one curl
--aws-sigv4 run), so objects/s compares the same shape of client; MB/s is
payload bytes over wall time. Requests per operation come from svc-blob's
own counters (stratusctl fs stats) before and after each phase.

usage: STRATUS_BUILD_DIR=build STRATUS_SRC_DIR=. python3 bench/blob/bench_blob.py [--small N] [--large N]
Prints a Markdown table. Not a timed test: numbers depend on the machine."""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("STRATUS_SRC_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from test_blob import BlobStratus, S3Server, USER  # noqa: E402


def timed(fn, items):
    t0 = time.monotonic()
    for it in items:
        fn(it)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=200, help="4 KB objects")
    ap.add_argument("--large", type=int, default=20, help="1 MB objects")
    args = ap.parse_args()

    s3 = S3Server(bucket="mails")
    st = BlobStratus("s3:http://S3RVER:S3RVER@127.0.0.1:%d/?bucket=mails" % s3.port,
                     "mail_prefetch_count = 10\n").start()
    work = tempfile.mkdtemp(prefix="bench-blob-")
    rows = []
    try:
        for label, size, n in (("4 KB", 4096, args.small), ("1 MB", 1 << 20, args.large)):
            body = os.path.join(work, "body-%d" % size)
            with open(body, "wb") as f:
                f.write(os.urandom(size))
            keys = ["bench/%d/%05d" % (size, i) for i in range(n)]

            # svc-blob through stratusctl
            before = st.stats()
            t_put = timed(lambda k: st.fs("put", USER, k, body), keys)
            mid = st.stats()
            t_get = timed(lambda k: st.fs("get", USER, k, "/dev/null"), keys)
            after = st.stats()
            put_reqs = (mid["put_2xx"] + mid["put_4xx"] + mid["put_5xx"] + mid["put_retries"]
                        - before["put_2xx"] - before["put_4xx"] - before["put_5xx"] - before["put_retries"]) / n
            get_reqs = (after["get_2xx"] + after["get_4xx"] + after["get_5xx"] + after["get_retries"]
                        - mid["get_2xx"] - mid["get_4xx"] - mid["get_5xx"] - mid["get_retries"]) / n
            other = sum(after[k] - before[k] for k in after
                        if k.endswith("_2xx") and not k.startswith(("put", "get")))
            rows.append(("svc-blob", label, n, size, t_put, t_get, put_reqs, get_reqs, other))

            # direct curl, same server, same sizes
            dkeys = ["direct/%d/%05d" % (size, i) for i in range(n)]
            t_put = timed(lambda k: s3.curl("-X", "PUT", "--data-binary", "@" + body,
                                            "/mails/" + k), dkeys)
            t_get = timed(lambda k: s3.curl("/mails/" + k), dkeys)
            rows.append(("curl direct", label, n, size, t_put, t_get, 1.0, 1.0, 0))
    finally:
        st.cleanup()
        s3.stop()
        subprocess.run(["rm", "-rf", work])

    print("| client | size | objects | PUT MB/s | PUT obj/s | GET MB/s | GET obj/s | requests/PUT | requests/GET | other requests |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for who, label, n, size, tp, tg, rp, rg, other in rows:
        mb = n * size / 1e6
        print("| %s | %s | %d | %.2f | %.1f | %.2f | %.1f | %.2f | %.2f | %d |" % (
            who, label, n, mb / tp, n / tp, mb / tg, n / tg, rp, rg, other))


if __name__ == "__main__":
    main()
