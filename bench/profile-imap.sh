#!/usr/bin/env bash
# bench/profile-imap.sh: where svc-imap and svc-index spend the IMAP
# commands workload of bench/run.sh (10 clients, the same mix and corpus).
#
#   bench/profile-imap.sh [BUILD] [SECONDS]      (default: build, 10 s)
#   PROFILE_MIX=headers=1 bench/profile-imap.sh  (one command alone)
#   PROFILE_PERF=0 / PROFILE_STRACE=0            (skip that pass)
#
# Starts Stratus on posix storage in a temporary folder, preloads 10 users
# with the bench corpus through LMTP, then runs stratus-loadgen imap-commands
# three times: once plain (commands/s), once under `perf record -g` of
# stratus-imap and stratus-index, once under `strace -c -f`. It prints the
# loadgen summary, the top functions of each process and the syscall table,
# and RPC counters from `stratusctl status`. Output folder: $OUT (kept).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SECS=${2:-10}
CLIENTS=${PROFILE_CLIENTS:-10}
MIX=${PROFILE_MIX:-flags=1,headers=1,body=2,store=1,search=1,append=1}
OUT=${OUT:-$(mktemp -d /tmp/stratus-profile.XXXXXX)}
LG=$BUILD/bench/stratus-loadgen
CTL=$BUILD/svc-ctl/stratusctl
[ -x "$LG" ] && [ -x "$CTL" ] || { echo "build $BUILD first" >&2; exit 1; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IMAP=$(port) LMTP=$(port) POP3=$(port)
d=$OUT/stratus
mkdir -p "$d/run" "$d/home" "$d/objects" "$d/fscache"
for i in $(seq 1 "$CLIENTS"); do printf 'bench%03d@example.com:{PLAIN}bench::::::\n' "$i"; done >"$d/users"
cat >"$d/stratus.conf" <<CONF
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = $d/run
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_fsync = never
mail_max_userip_connections = 100000
mail_home = $d/home/%2Mu/%u
mail_location = obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/users
}
userdb {
  driver = static
  args = home=$d/home/%2Mu/%u
}
plugin {
  obox_fs = fscache:512M:$d/fscache:posix:prefix=$d/objects/
  obox_index_fs = compress:gz:6:posix:prefix=$d/objects/
  obox_use_object_ids = yes
  metacache_delay_uploads = yes
  metacache_close_delay = 2s
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP
  }
}
CONF
"$CTL" -c "$d/stratus.conf" run >"$d/stratus.log" 2>&1 &
RUN_PID=$!
trap 'kill -TERM $RUN_PID 2>/dev/null; wait $RUN_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
	grep -Eq 'all [0-9]+ services ready' "$d/stratus.log" && break
	sleep 0.1
done
python3 "$ROOT/bench/corpus/gen-corpus.py" --out "$OUT/corpus" --count 10 --seed 42 \
	--max-size 262144 >/dev/null
"$LG" lmtp --port "$LMTP" --files "$OUT/corpus" --users "$CLIENTS" --clients 4 \
	--duration 0 --max-errors 5 >"$OUT/preload.txt"
pid_of() { pgrep -n -f -- "/$1 -c $d/stratus.conf"; }
IMAP_PID=$(pid_of stratus-imap)
INDEX_PID=$(pid_of stratus-index)
BLOB_PID=$(pid_of stratus-blob)
run_lg() {
	"$LG" imap-commands --port "$IMAP" --clients "$CLIENTS" --duration "$SECS" \
		--mix "$MIX" --seed 42 --expect-messages 10
}
echo "== plain run ($SECS s, $CLIENTS clients, mix $MIX)"
cpu0=$(awk '{print $14+$15}' "/proc/$IMAP_PID/stat") cpi0=$(awk '{print $14+$15}' "/proc/$INDEX_PID/stat")
cpb0=$(awk '{print $14+$15}' "/proc/$BLOB_PID/stat")
run_lg >"$OUT/plain.txt"
cpu1=$(awk '{print $14+$15}' "/proc/$IMAP_PID/stat") cpi1=$(awk '{print $14+$15}' "/proc/$INDEX_PID/stat")
cpb1=$(awk '{print $14+$15}' "/proc/$BLOB_PID/stat")
grep -E '^(stat|summary)' "$OUT/plain.txt" | sed 's/label=[^ ]* //'
echo "CPU ticks during the run: stratus-imap $((cpu1 - cpu0)), stratus-index $((cpi1 - cpi0)), stratus-blob $((cpb1 - cpb0))"
"$CTL" -c "$d/stratus.conf" status >"$OUT/status.txt" 2>&1 || true
if [ "${PROFILE_PERF:-1}" = 1 ] && command -v perf >/dev/null; then
	echo "== perf (cpu-clock, call graphs)"
	perf record -e cpu-clock --call-graph "${PROFILE_CALLGRAPH:-fp}" -o "$OUT/imap.perf" -p "$IMAP_PID" 2>/dev/null &
	P1=$!
	perf record -e cpu-clock --call-graph "${PROFILE_CALLGRAPH:-fp}" -o "$OUT/index.perf" -p "$INDEX_PID" 2>/dev/null &
	P2=$!
	perf record -e cpu-clock --call-graph "${PROFILE_CALLGRAPH:-fp}" -o "$OUT/blob.perf" -p "$BLOB_PID" 2>/dev/null &
	P3=$!
	sleep 0.5
	run_lg >"$OUT/perf-run.txt"
	kill -INT $P1 $P2 $P3; wait $P1 $P2 $P3 2>/dev/null || true
	for p in imap index blob; do
		echo "-- stratus-$p: self time"
		perf report -i "$OUT/$p.perf" --no-children --stdio --percent-limit 2 \
			--sort symbol -g none 2>/dev/null | grep -E '^ +[0-9]' | head -25
		perf report -i "$OUT/$p.perf" --children --stdio --percent-limit 5 \
			--sort symbol -g none 2>/dev/null | grep -E '^ +[0-9]' | head -25 >"$OUT/$p.children.txt"
	done
fi
if [ "${PROFILE_STRACE:-1}" = 1 ] && command -v strace >/dev/null; then
	echo "== strace -c (stratus-imap, stratus-index, stratus-blob)"
	strace -c -f -o "$OUT/imap.strace" -p "$IMAP_PID" &
	S1=$!
	strace -c -f -o "$OUT/index.strace" -p "$INDEX_PID" &
	S2=$!
	strace -c -f -o "$OUT/blob.strace" -p "$BLOB_PID" &
	S3=$!
	sleep 0.5
	run_lg >"$OUT/strace-run.txt"
	kill -INT $S1 $S2 $S3; wait $S1 $S2 $S3 2>/dev/null || true
	sleep 0.2
	for p in imap index blob; do echo "-- stratus-$p"; head -22 "$OUT/$p.strace"; done
	grep -E '^summary' "$OUT/strace-run.txt" | sed 's/label=[^ ]* //'
fi
echo "output kept in $OUT"
