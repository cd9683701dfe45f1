#!/bin/bash
# bench/quota/run.sh [--smoke]: what the quota check costs an LMTP delivery.
# Starts two Stratus service sets (`stratusctl run`, posix storage in a
# mktemp folder, loopback ports): one with `mail_plugins = quota` (count
# backend, a 10G rule that never refuses, so every delivery does the
# svc-quota Check + Commit round trips and the usage reload), one without.
# Runs `stratus-loadgen lmtp` against them alternately, 3 runs each
# (--smoke: 1 short run), and writes bench/quota/results.md with the
# medians and the overhead in % (--smoke writes only to the temp folder).
# Takes under a minute. Every process started here is stopped by PID.
#   QUOTABENCH_BUILD  meson build with the services and stratus-loadgen
#                     (default: build-bench, else build). Use a build
#                     without sanitizers for figures worth quoting.
set -euo pipefail

PROFILE=quick RUNS=3 DUR=5 CLIENTS=8 SIZE=4096 USERS=50
case "${1:-}" in
	""|--quick) ;;
	--smoke) PROFILE=smoke RUNS=1 DUR=1 ;;
	*) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${QUOTABENCH_BUILD:-}
if [ -z "$BUILD" ]; then
	BUILD=$ROOT/build-bench
	[ -f "$BUILD/build.ninja" ] || BUILD=$ROOT/build
fi
BUILD=$(cd "$BUILD" && pwd)
CTL=$BUILD/svc-ctl/stratusctl
LG=$BUILD/bench/stratus-loadgen
[ -x "$LG" ] || meson compile -C "$BUILD" stratus-loadgen >/dev/null
for f in "$CTL" "$LG" "$BUILD/svc-quota/stratus-quota"; do
	[ -x "$f" ] || { echo "missing $f (build first)" >&2; exit 1; }
done

. "$ROOT/bench/lib-proc.sh"	# tree_cpu_ticks
TCK=$(getconf CLK_TCK)

W=$(mktemp -d /tmp/stratus-quotabench.XXXXXX)
declare -A PID PORT
cleanup() {
	for s in "${!PID[@]}"; do
		kill -TERM "${PID[$s]}" 2>/dev/null || true
	done
	for s in "${!PID[@]}"; do
		for _ in $(seq 100); do
			kill -0 "${PID[$s]}" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "${PID[$s]}" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

write_config() {	# NAME QUOTA(yes|no)
	local d=$W/$1 quota=""
	mkdir -p "$d/objects"
	PORT[$1]=$(free_port)
	: > "$d/users"
	for i in $(seq "$USERS"); do
		printf 'lmtp%03d@example.com:{PLAIN}bench::::::\n' "$i" >> "$d/users"
	done
	[ "$2" = yes ] && quota="mail_plugins = \$mail_plugins quota
plugin {
  quota = count:User quota
  quota_rule = *:storage=10G
  quota_vsizes = yes
}"
	cat > "$d/stratus.conf" <<CONF
protocols = lmtp
listen = 127.0.0.1
base_dir = $d/run
ssl = no
mail_home = $d/home/%2Mu/%u
mail_location = obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/users
}
userdb {
  driver = static
  args = home=$d/home/%2Mu/%u
}
plugin {
  obox_fs = posix:prefix=$d/objects/
  obox_index_fs = posix:prefix=$d/objects/
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${PORT[$1]}
  }
}
$quota
CONF
}

start_set() {	# NAME
	local d=$W/$1
	"$CTL" -c "$d/stratus.conf" run > "$d/stratus.log" 2>&1 &
	PID[$1]=$!
	for _ in $(seq 300); do
		grep -q "all [0-9]* services ready" "$d/stratus.log" && return 0
		kill -0 "${PID[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$d/stratus.log" >&2
	echo "service set $1 did not start" >&2
	exit 1
}

quota_ticks() {	# NAME: CPU ticks of the set's stratus-quota (0 if none)
	local pid
	pid=$(pgrep -P "${PID[$1]}" -x stratus-quota || true)
	[ -n "$pid" ] || { echo 0; return; }
	sed -e 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}

run_lg() {	# NAME RUN: prints "rate p50 p99 cpu_ms quota_cpu_ms" (per delivery)
	local out=$W/$1.$2.out c0 c1 q0 q1
	c0=$(tree_cpu_ticks "${PID[$1]}")
	q0=$(quota_ticks "$1")
	"$LG" lmtp --port "${PORT[$1]}" --clients "$CLIENTS" --rcpts 1 \
		--msg-size "$SIZE" --user-fmt 'lmtp%03u@example.com' \
		--users "$USERS" --duration "$DUR" --label "$1" > "$out" 2> "$out.err" || {
		cat "$out" "$out.err" >&2; echo "loadgen failed on $1" >&2; exit 1; }
	# CPU of the whole service set (all services, the quota one too)
	# over the run, per delivery: steadier than times on a busy machine.
	c1=$(tree_cpu_ticks "${PID[$1]}")
	q1=$(quota_ticks "$1")
	awk -v ticks=$((c1 - c0)) -v qticks=$((q1 - q0)) -v tck="$TCK" -v dur="$DUR" '$1 == "stat" {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["count"] + 0 > best) { best = v["count"] + 0; line = v["rate_per_s"] " " v["p50_ms"] " " v["p99_ms"]; rate = v["rate_per_s"] }
	} END { n = rate * dur; printf "%s %.2f %.3f\n", line, (n > 0 ? ticks * 1000 / tck / n : 0), (n > 0 ? qticks * 1000 / tck / n : 0) }' "$out"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

write_config on yes
write_config off no
start_set on
start_set off
# Warm-up: first deliveries create every user's INBOX and index.
"$LG" lmtp --port "${PORT[on]}" --clients "$CLIENTS" --rcpts 1 --msg-size "$SIZE" \
	--user-fmt 'lmtp%03u@example.com' --users "$USERS" --duration 1 >/dev/null 2>&1 || true
"$LG" lmtp --port "${PORT[off]}" --clients "$CLIENTS" --rcpts 1 --msg-size "$SIZE" \
	--user-fmt 'lmtp%03u@example.com' --users "$USERS" --duration 1 >/dev/null 2>&1 || true

: > "$W/rows"
for r in $(seq "$RUNS"); do
	# Alternate which set goes first, so drift hits both alike.
	if [ $((r % 2)) = 1 ]; then order="off on"; else order="on off"; fi
	for s in $order; do
		echo "$s $r $(run_lg "$s" "$r")" | tee -a "$W/rows"
	done
done

col() { awk -v s="$1" -v c="$2" '$1 == s { print $c }' "$W/rows" | median; }
RATE_OFF=$(col off 3) RATE_ON=$(col on 3)
P50_OFF=$(col off 4) P50_ON=$(col on 4)
P99_OFF=$(col off 5) P99_ON=$(col on 5)
CPU_OFF=$(col off 6) CPU_ON=$(col on 6)
QCPU=$(col on 7)
QSHARE=$(awk -v q="$QCPU" -v c="$CPU_ON" 'BEGIN { if (c + 0 == 0) print "n/a"; else printf "%.1f", q * 100 / c }')
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%+.1f", (a - b) * 100 / b }'; }
# Time per delivery from throughput (clients / rate), the figure the goal is about.
T_OFF=$(awk -v r="$RATE_OFF" -v c="$CLIENTS" 'BEGIN { printf "%.3f", c * 1000 / r }')
T_ON=$(awk -v r="$RATE_ON" -v c="$CLIENTS" 'BEGIN { printf "%.3f", c * 1000 / r }')
OVER=$(pct "$T_ON" "$T_OFF")

report() {
	cat <<MD
# Quota overhead on LMTP delivery

\`bench/quota/run.sh\` ($PROFILE), $(date -u +%Y-%m-%d), $(nproc) cores, build \`$(basename "$BUILD")\`.
Two service sets on posix storage in a temp folder: \`mail_plugins = quota\`
(count backend, \`quota_rule = *:storage=10G\`, never refusing: every delivery
does the svc-quota Check and Commit round trips; svc-quota re-reads an active
user's usage from svc-index in the background every 5 s) against no quota.
\`stratus-loadgen lmtp\`: $CLIENTS connections, 1 recipient, $SIZE-byte messages,
$USERS users, ${DUR} s per run; $RUNS runs per set, alternating; medians.

| set | deliveries/s | ms per delivery (clients / rate) | p50 ms | p99 ms | CPU ms per delivery (all services) |
|---|---|---|---|---|---|
| quota off | $RATE_OFF | $T_OFF | $P50_OFF | $P99_OFF | $CPU_OFF |
| quota on | $RATE_ON | $T_ON | $P50_ON | $P99_ON | $CPU_ON |

**Overhead of the quota check: ${OVER}% delivery time, $(pct "$CPU_ON" "$CPU_OFF")% CPU
per delivery** (goal: under 5%; p50 latency $(pct "$P50_ON" "$P50_OFF")%).
svc-quota itself used **$QCPU ms CPU per delivery, ${QSHARE}% of the set's CPU**
(Check, Commit and the background usage reloads; the svc-index side of a
reload and svc-lmtp's two RPCs are in the set totals).
The load average during the run was $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores: other work
shares this machine, so times and even per-delivery CPU (page cache, fsync
of the posix store) move between runs by more than the quota check costs.

Runs (set, run, deliveries/s, p50 ms, p99 ms, CPU ms per delivery, svc-quota CPU ms per delivery):

\`\`\`
$(cat "$W/rows")
\`\`\`
MD
}
if [ "$PROFILE" = smoke ]; then
	report
else
	report > "$ROOT/bench/quota/results.md"
	cat "$ROOT/bench/quota/results.md"
fi
