"""bench/index/report.py RUNS.TSV OUT.md key=value...: the results page
of bench/index/run.sh (medians of the runs of each row)."""

import statistics
import sys


def main():
    runs_path, out_path = sys.argv[1], sys.argv[2]
    p = dict(a.split("=", 1) for a in sys.argv[3:])
    rows = {}
    with open(runs_path) as f:
        for line in f:
            name, run, value = line.rstrip("\n").split("\t")
            rows.setdefault(name, []).append(float(value))

    def med(name):
        return statistics.median(rows[name])

    def spread(name, fmt):
        return ", ".join(fmt % v for v in rows[name])

    total = int(p["total"])
    local, raw = int(p["local_bytes"]), int(p["raw_bytes"])
    bundle, gz = int(p["bundle_bytes"]), int(p["gzip_bytes"])
    out = []
    w = out.append
    w("# svc-index: open, append, flags, bytes (bench/index)\n")
    w("Written by `bench/index/run.sh` on %s from commit `%s` (profile %s, "
      "%s s). Medians of %s runs per row; every run is listed." % (
          p["date"], p["commit"], p["profile"], p["seconds"], p["runs"]))
    w("To reproduce: build (`meson compile -C BUILD`), then "
      "`INDEXBENCH_BUILD=BUILD bench/index/run.sh` (under 2 minutes; "
      "`--smoke` for a few seconds without touching this file).\n")
    w("| measurement | median | runs |")
    w("|---|---:|---|")
    w("| open + status, %d messages, warm (user loaded) | %.2f ms | %s |" % (
        total, med("open_warm"), spread("open_warm", "%.2f")))
    w("| open + status, %d messages, cold (local cache deleted; bundle "
      "fetched from object storage, inflated, loaded) | %.1f ms | %s |" % (
          total, med("open_cold"), spread("open_cold", "%.1f")))
    if "fetch_cold" in rows:
        w("| then Fetch of the last 10 messages' envelopes (after the cold "
          "open: their cached fields are loaded now) | %.2f ms | %s |" % (
              med("fetch_cold"), spread("fetch_cold", "%.2f")))
    for phase, what in (("fetch", "Get through svc-blob until its reply"),
                        ("read", "the bundle from svc-blob's fd"),
                        ("decode", "inflate, unpack and load"),
                        ("install", "the bundle written as the local "
                         "snapshot")):
        if "cold_" + phase in rows:
            w("| cold open phase %s (%s, svc-index's log) | %.1f ms | %s |"
              % (phase, what, med("cold_" + phase),
                 spread("cold_" + phase, "%.1f")))
    w("| append records/s (single-message Append calls, %s in flight, "
      "mailbox at %s..%d) | %.0f | %s |" % (
          p["inflight"], p["fill"], total, med("append"),
          spread("append", "%.0f")))
    w("| flag updates/s (Store of one random UID, +/-FLAGS \\\\Seen or "
      "\\\\Flagged, %s in flight) | %.0f | %s |" % (
          p["inflight"], med("store"), spread("store", "%.0f")))
    w("")
    w("| index bytes per message (%d messages) | bytes/message | total |"
      % total)
    w("|---|---:|---:|")
    w("| local metacache on disk (log + snapshot, before the clean) | "
      "%.0f | %d |" % (local / total, local))
    w("| bundle, raw (the packed state before compression) | %.0f | %d |"
      % (raw / total, raw))
    w("| bundle, compressed as uploaded (zlib level 6) | %.0f | %d |"
      % (bundle / total, bundle))
    w("| the same state through gzip -6 (for comparison) | %.0f | %d |"
      % (gz / total, gz))
    w("")
    w("Compressed bundle = **%.1f%%** of the raw state (gzip: %.1f%%); the "
      "spec expects 20-30%%." % (100.0 * bundle / raw, 100.0 * gz / raw))
    w("")
    w("## Reading the figures")
    w("- Flag updates were 670/s at 100,000 messages before commit "
      "e2456f0: each Store zero-allocated and scanned the whole mailbox. "
      "It now visits only its UID set (the flag row above).")
    w("- The cold open is dominated by loading the whole user state at "
      "once: the bundle's sections are inflated (%.0f MB raw) and "
      "unpacked, and the local cache is written again. A cold open of one "
      "mailbox still loads every mailbox of the user; fetching only the "
      "opened mailbox's sections is not done yet." % (raw / 1e6))
    w("- Bundle uploads (not part of the rows above, which run with "
      "uploads off) are incremental since commit 17fb7be: bundle format 2 "
      "holds one deflated section per mailbox chunk of 512 UIDs, cached "
      "in memory, and an upload re-encodes only the chunks changed since "
      "the previous one. Their cost per upload and LMTP-like appends/s "
      "to one growing user, before and after, are in "
      "[upload-results.md](upload-results.md) (bench/index/upload.sh).")
    w("- The machine's load average was far above its 2 cores during the "
      "run (see below), so absolute rates are low and noisy; the append "
      "client also spent the listed time generating messages.")
    w("")
    w("## What is measured")
    w("- `index-bench` talks svc-index's RPC socket like the protocol "
      "services do, and checks every reply. Each message is generated "
      "(varied addresses, subjects, message-ids, dates; 60% text/plain, "
      "30% multipart/alternative, 10% with a base64 attachment) and its "
      "cached fields (envelope, bodystructure, body, mime.parts, "
      "hdr.from/to/cc/bcc/subject/message-id) are computed by svc-lmtp's "
      "own lmtp-cache.c, so the index holds what a delivery stores. "
      "Bodies are not stored: svc-index never sees them.")
    w("- The mailbox is filled to %s messages with Append calls of 100, "
      "then each append run adds %s single-message Appends; the client's "
      "time to generate and cache messages (in parallel with the calls in "
      "flight) was %s s per append run." % (
          p["fill"], p["append_n"], spread("append_gen", "%.2f")))
    w("- Flag runs: %s Store calls each. Open: MailboxOpen (EXAMINE, the "
      "reply lists every UID) then MailboxStatus, one after the other." %
      p["store_n"])
    w("- Cold: `stratusctl metacache clean USER` uploads the bundle if "
      "dirty and deletes the user's local files (checked); the next open "
      "fetches `index.bundle` through svc-blob (posix object storage in "
      "the temp folder, the embedded default), inflates and loads it.")
    w("- Bundle uploads are off during the runs (`metacache_delay_uploads "
      "= yes`, interval 1h, `obox_max_rescan_mail_count = 0`), so the "
      "append and flag rows measure the index, not uploads; "
      "`mail_fsync = never` as in the spec.")
    w("")
    w("## Machine and parameters\n")
    w("| | |")
    w("|---|---|")
    for k in ("cpu", "nproc", "mem", "kernel", "load_start", "load_end",
              "build", "total", "fill", "append_n", "store_n", "inflight",
              "runs"):
        w("| %s | %s |" % (k, p[k]))
    w("")
    w("The machine is shared (2 cores, other engineers' builds and tests "
      "ran at the same time): see the load averages.")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
