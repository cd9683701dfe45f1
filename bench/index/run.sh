#!/bin/bash
# bench/index/run.sh [--quick|--smoke]: svc-index figures, through its
# RPC socket (bench/index/index-bench): open + status of a 100,000-message
# mailbox warm (loaded) and cold (local cache deleted, loaded from the
# bundle on object storage), append records per second, flag updates per
# second, index bytes per message on local disk, raw in the bundle and
# compressed in the bundle. Writes bench/index/results.md (--smoke: a
# 2,000-message run that writes only to the temp folder).
#
# One Stratus service set (`stratusctl run`, posix object storage in the
# temp folder, the embedded default) serves one user. The mailbox is
# filled to FILL messages in Append calls of 100, then RUNS append runs
# of APPEND_N single-message Appends (what LMTP sends) bring it to TOTAL;
# the store, warm open and cold open rows run on the full mailbox. Each
# row is the median of RUNS runs.
#
# Everything runs in a mktemp folder; every process started here is
# stopped by PID on exit; every wait is bounded.
#   INDEXBENCH_BUILD   meson build folder (default: build). Use a build
#                      without sanitizers for figures worth quoting.
#   INDEXBENCH_CLIENT  index-bench binary (default: BUILD's), e.g. this
#                      tree's against an older commit's build for an A/B.
#   INDEXBENCH_KEEP=1  keep the temp folder.
#   INDEXBENCH_PERF=F  record svc-index with perf (cpu-clock, call graphs)
#                      during the cold opens into the file F.
set -euo pipefail

PROFILE=quick
case "${1:-}" in
	--quick|"") PROFILE=quick ;;
	--smoke) PROFILE=smoke ;;
	*) echo "usage: $0 [--quick|--smoke]" >&2; exit 2 ;;
esac
case $PROFILE in
quick) TOTAL=100000 APPEND_N=10000 STORE_N=20000 RUNS=3 ;;
smoke) TOTAL=2000 APPEND_N=300 STORE_N=500 RUNS=3 ;;
esac
FILL=$((TOTAL - RUNS * APPEND_N))
INFLIGHT=16
USER_NAME=bench@example.com

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/index
BUILD=$(cd "${INDEXBENCH_BUILD:-$ROOT/build}" && pwd)
CTL=$BUILD/svc-ctl/stratusctl
IB=${INDEXBENCH_CLIENT:-$BUILD/bench/index/index-bench}
for f in "$CTL" "$IB" "$BUILD/svc-index/stratus-index"; do
	[ -x "$f" ] || { echo "missing $f (build first)" >&2; exit 1; }
done

T0=$(date +%s)
log() { printf '[index-bench %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

W=$(mktemp -d /tmp/stratus-indexbench.XXXXXX)
chmod 755 "$W"
PID=""
cleanup() {
	set +e
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	if [ "${INDEXBENCH_KEEP:-0}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "$USER_NAME:{PLAIN}pass::::::" >"$W/users"
# Uploads only when asked (metacache clean), so that the append and
# store rows measure the index and not bundle uploads of a growing
# 100,000-message state; the policy itself is tested in
# tests/integration/test_index_s3.py.
cat >"$W/stratus.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $W/run
ssl = no
disable_plaintext_auth = no
mail_fsync = never
mail_home = $W/home/%2Mu/%u
mail_location = obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/
passdb {
  driver = passwd-file
  args = scheme=PLAIN $W/users
}
userdb {
  driver = static
  args = home=$W/home/%2Mu/%u
}
plugin {
  obox_fs = posix:prefix=$W/objects/
  obox_index_fs = posix:prefix=$W/objects/
  metacache_delay_uploads = yes
  metacache_upload_interval = 1h
  obox_max_rescan_mail_count = 0
  metacache_max_space = 10G
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
}
CONF
"$CTL" -c "$W/stratus.conf" run >"$W/stratus.log" 2>&1 &
PID=$!
for i in $(seq 1 300); do
	grep -Eq "all [0-9]+ services ready" "$W/stratus.log" && break
	[ "$i" = 300 ] && { echo "Stratus did not start" >&2; cat "$W/stratus.log" >&2; exit 1; }
	sleep 0.1
done
SOCK=$W/run/stratus-index
ib() { "$IB" --socket "$SOCK" --user "$USER_NAME" --mailbox INBOX "$@"; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

: >"$W/runs.tsv"
row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$W/runs.tsv"; log "$1 run $2: $3"; }

log "filling INBOX with $FILL messages (Append calls of 100)"
ib append --count "$FILL" --batch 100 --inflight 4 >"$W/fill.out"
log "fill: $(cat "$W/fill.out")"

for run in $(seq 1 "$RUNS"); do
	out=$(ib append --count "$APPEND_N" --batch 1 --inflight "$INFLIGHT" \
		--first $((FILL + (run - 1) * APPEND_N)))
	row append "$run" "$(echo "$out" | field rate)"
	row append_gen "$run" "$(echo "$out" | field gen_seconds)"
done
for run in $(seq 1 "$RUNS"); do
	out=$(ib store --count "$STORE_N" --inflight "$INFLIGHT" --seed "$run")
	row store "$run" "$(echo "$out" | field rate)"
done
ib open --runs 1 --expect "$TOTAL" >/dev/null	# settle: compaction, caches
while read -r line; do
	row open_warm "$(echo "$line" | field run)" "$(echo "$line" | field ms)"
done < <(ib open --runs "$RUNS" --expect "$TOTAL")

LOCAL_BYTES=$("$CTL" -c "$W/stratus.conf" metacache list |
	sed -n "s/^$USER_NAME bytes=\([0-9]*\) .*/\1/p")
PERF_PID=""
if [ -n "${INDEXBENCH_PERF:-}" ]; then
	# The cold opens under perf: where a bundle load spends its time.
	IDX_PID=$(pgrep -n -f -- "/stratus-index -c $W/stratus.conf")
	perf record -e cpu-clock -g -o "$INDEXBENCH_PERF" -p "$IDX_PID" 2>/dev/null &
	PERF_PID=$!
fi
for run in $(seq 1 "$RUNS"); do
	"$CTL" -c "$W/stratus.conf" metacache clean "$USER_NAME" >/dev/null
	[ -z "$(find "$W/home" -type f 2>/dev/null | head -1)" ] ||
		{ echo "metacache clean left files in $W/home" >&2; exit 1; }
	out=$(ib open --runs 1 --expect "$TOTAL" --fetch 10)
	row open_cold "$run" "$(echo "$out" | field ms)"
	row fetch_cold "$run" "$(echo "$out" | field fetch_ms)"
done
if [ -n "$PERF_PID" ]; then
	kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
fi
# The phases of each cold open as svc-index logs them (commits before
# the lazy load log none: the rows are then left out).
run=0
while read -r line; do
	run=$((run + 1))
	for phase in fetch read decode install; do
		row "cold_$phase" "$run" "$(echo "$line" |
			sed -n "s/.*[ (]$phase \([0-9.]*\).*/\1/p")"
	done
done < <(grep -o 'index loaded from bundle generation .*ms: fetch.*' "$W/stratus.log" |
	tail -n "$RUNS")
BUNDLE=$(find "$W/objects" -name index.bundle | head -1)
BUNDLE_BYTES=$(stat -c %s "$BUNDLE")
# version 2 (svc-index/index-file.h): "STXBNDL\n" u32le version
# u32le sections u64le body length, then per section u32le raw length,
# u32le deflated length, u32le crc, deflated bytes. Prints the raw bytes
# and the size of the whole raw state through gzip -6.
read -r RAW_BYTES GZIP_BYTES < <(python3 - "$BUNDLE" <<'PY'
import gzip, struct, sys, zlib
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 12)[0]
pos, raw = 24, b""
for _ in range(n):
    rlen, clen, _crc = struct.unpack_from("<III", d, pos)
    raw += zlib.decompress(d[pos + 12:pos + 12 + clen])
    pos += 12 + clen
print(len(raw), len(gzip.compress(raw, 6)))
PY
)

OUT=$HERE/results.md
[ $PROFILE = smoke ] && OUT=$W/results.md
python3 "$HERE/report.py" "$W/runs.tsv" "$OUT" \
	date="$(date -u '+%Y-%m-%d %H:%M UTC')" \
	commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	profile="$PROFILE" runs="$RUNS" total="$TOTAL" fill="$FILL" \
	append_n="$APPEND_N" store_n="$STORE_N" inflight="$INFLIGHT" \
	local_bytes="$LOCAL_BYTES" bundle_bytes="$BUNDLE_BYTES" \
	raw_bytes="$RAW_BYTES" gzip_bytes="$GZIP_BYTES" \
	build="$BUILD" nproc="$(nproc)" \
	cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	mem="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" \
	load_start="$LOAD_START" load_end="$(cut -d' ' -f1-3 /proc/loadavg)" \
	kernel="$(uname -r)" seconds="$(( $(date +%s) - T0 ))"
[ $PROFILE = smoke ] || cp "$W/runs.tsv" "${OUT%.md}.tsv"
log "wrote $OUT"
cat "$OUT"
