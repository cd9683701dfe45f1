#!/bin/bash
# bench/run.sh [--smoke|--quick|--full]: Stratus against Dovecot CE on
# this machine, same users, same corpus, same loads, alternating runs;
# writes bench/results/latest.md (bench/report.py) from the medians.
#
#   --smoke  seconds; tiny counts; Stratus if it serves, else Dovecot,
#            to keep the harness from rotting (`make test` may call it).
#            Writes bench/results/smoke.md, never latest.md.
#   --quick  under 3 minutes (default).
#   --full   under 20 minutes; the issue's sizes (100,000-message
#            mailbox, 10,000 idle connections).
#
# Everything runs in a mktemp folder on 127.0.0.1, every server started
# here is stopped by PID on exit (trap), every wait is bounded. Stratus
# rows read "n/a" with the reason when a Stratus protocol does not serve
# yet: a number is only printed when the load generator verified every
# answer. Set BENCH_KEEP=1 to keep the temp folder, BENCH_BUILD to use
# another meson build folder (default build-bench).
set -euo pipefail

PROFILE=quick
case "${1:-}" in
	--smoke) PROFILE=smoke ;;
	--quick|"") PROFILE=quick ;;
	--full) PROFILE=full ;;
	*) echo "usage: $0 [--smoke|--quick|--full]" >&2; exit 2 ;;
esac

# bash reads a script as it runs: run from a private copy so that an edit
# (or a git pull) during a long run cannot change the rest of it.
if [ -z "${BENCH_SELF_COPY:-}" ]; then
	self=$(mktemp /tmp/stratus-bench-run.XXXXXX)
	cp "$0" "$self"
	BENCH_SELF_COPY=$self BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd) exec bash "$self" "$@"
fi
ROOT=$BENCH_ROOT
BENCH=$ROOT/bench
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
. "$BENCH/lib-proc.sh"
T0=$(date +%s)
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# -- parameters per profile ------------------------------------------------
case $PROFILE in
smoke)
	RUNS=1 DUR=1 C_LO=2 C_HI=4 USERS=4 PER_USER=4 USER_MAX=65536
	BIG=200 POP_MSGS=50 IDLE_K=20 IDLE_HOLD=1 HIB=1 ;;
quick)
	RUNS=3 DUR=2 C_LO=10 C_HI=100 USERS=100 PER_USER=20 USER_MAX=1048576
	BIG=5000 POP_MSGS=1000 IDLE_K=500 IDLE_HOLD=2 HIB=1 ;;
full)
	RUNS=3 DUR=5 C_LO=10 C_HI=100 USERS=100 PER_USER=50 USER_MAX=5242880
	BIG=100000 POP_MSGS=1000 IDLE_K=10000 IDLE_HOLD=5 HIB=2 ;;
esac
LMTP_CONNS=4 LMTP_SIZE=4096 SEED=42
# Dovecot mdbox is the peer for every row; maildir is the peer the issue
# names for LMTP. --quick runs maildir only there to stay under 3 minutes;
# the idle row compares with mdbox and hibernated mdbox only (Dovecot
# starts about 85 imap processes a second here: 10,000 take two minutes).
MAILDIR_WORKLOADS="sess_lo sess_hi cmd_lo cmd_hi big lmtp pop3"
[ $PROFILE = full ] || MAILDIR_WORKLOADS="lmtp"
MIX="flags=1,headers=1,body=2,store=1,search=1,append=1"
PRELOAD_RCPTS=$(( USERS < 50 ? USERS : 50 ))
IDLE_SETUP=$(( IDLE_K / 40 + 60 ))	# seconds allowed to get every client idling

log() { printf '[bench %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }

# -- cleanup: only what this script started, by PID ------------------------
W=$(mktemp -d /tmp/stratus-bench.XXXXXX)
chmod 755 "$W"
STARTED_PIDS=""
INOTIFY_OLD=""
CURRENT_LG=""
cleanup() {
	set +e
	rm -f "$BENCH_SELF_COPY"
	[ -n "$CURRENT_LG" ] && kill -TERM "$CURRENT_LG" 2>/dev/null
	for p in $STARTED_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $STARTED_PIDS; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "$INOTIFY_OLD" ]; then
		sysctl -q -w fs.inotify.max_user_instances="$INOTIFY_OLD" >/dev/null 2>&1
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -- prerequisites (idempotent) ---------------------------------------------
if ! dpkg -s dovecot-imapd dovecot-pop3d dovecot-lmtpd >/dev/null 2>&1; then
	log "installing Dovecot CE from Debian"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		dovecot-imapd dovecot-pop3d dovecot-lmtpd >"$W/apt.log" 2>&1 ||
		{ cat "$W/apt.log" >&2; exit 1; }
fi
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" >"$W/meson-setup.log" 2>&1 ||
	{ cat "$W/meson-setup.log" >&2; exit 1; }
meson compile -C "$BUILD" stratus-loadgen >"$W/build-loadgen.log" 2>&1 ||
	{ cat "$W/build-loadgen.log" >&2; exit 1; }
LG=$BUILD/bench/stratus-loadgen
# Only the programs the benchmark runs: a unit test that does not build
# must not hide a working server, and a service that does not build must
# not be benchmarked from a stale binary (ninja -n says what is stale).
STRATUS_TARGETS="svc-ctl/stratusctl svc-auth/stratus-auth svc-blob/stratus-blob
	svc-index/stratus-index svc-quota/stratus-quota svc-imap/stratus-imap
	svc-pop3/stratus-pop3 svc-lmtp/stratus-lmtp svc-managesieve/stratus-managesieve"
STRATUS_REASON=""
# shellcheck disable=SC2086
ninja -C "$BUILD" -k 0 $STRATUS_TARGETS >"$W/build-stratus.log" 2>&1 || true
# shellcheck disable=SC2086
if ! ninja -C "$BUILD" -n $STRATUS_TARGETS 2>/dev/null | grep -q 'no work to do'; then
	STRATUS_REASON="n/a (Stratus does not build)"
	log "Stratus does not build:"; grep -m3 -E 'error|ERROR' "$W/build-stratus.log" >&2 || true
fi
STRATUSCTL=$BUILD/svc-ctl/stratusctl
log "built; the benchmark's clock starts now"
T0=$(date +%s)	# the profiles' time budgets exclude a first build

# Dovecot keeps one inotify instance per IDLE session on maildir/mdbox.
cur=$(cat /proc/sys/fs/inotify/max_user_instances)
if [ "$cur" -lt $((IDLE_K * 2 + 100)) ]; then
	if sysctl -q -w fs.inotify.max_user_instances=$((IDLE_K * 2 + 100)) >/dev/null 2>&1; then
		INOTIFY_OLD=$cur
	fi
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {	# wait_port PORT PID: bounded to 20 s
	for _ in $(seq 1 200); do
		kill -0 "$2" 2>/dev/null || return 1
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" \
			2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# -- users and corpus, identical for every server ---------------------------
{
	for i in $(seq 1 "$USERS"); do
		printf 'bench%03d@example.com:{PLAIN}bench::::::\n' "$i"
		printf 'lmtp%03d@example.com:{PLAIN}bench::::::\n' "$i"
	done
	echo 'big1@example.com:{PLAIN}bench::::::'
	echo 'pop1@example.com:{PLAIN}bench::::::'
	echo 'probe1@example.com:{PLAIN}bench::::::'
} >"$W/users"
log "generating the corpus (seed $SEED)"
python3 "$BENCH/corpus/gen-corpus.py" --out "$W/corpus-user" --count "$PER_USER" \
	--seed "$SEED" --max-size "$USER_MAX" >"$W/corpus.txt"
python3 "$BENCH/corpus/gen-corpus.py" --out "$W/corpus-pop" --count "$POP_MSGS" \
	--seed $((SEED + 1)) --max-size 131072 >>"$W/corpus.txt"
mkdir -p "$W/corpus-one"
cp "$W/corpus-user/00001.eml" "$W/corpus-one/"

# -- servers -----------------------------------------------------------------
declare -A PID IMAP POP3 LMTP
SERVERS=""

start_dovecot() {	# start_dovecot NAME MAIL_LOCATION HIBERNATE_SECS
	local name=$1 d=$W/$1
	mkdir -p "$d"
	cp "$W/users" "$d/users"
	IMAP[$name]=$(free_port) POP3[$name]=$(free_port) LMTP[$name]=$(free_port)
	"$BENCH/dovecot/render.sh" "$d" "$name-$$" "$2" "${IMAP[$name]}" \
		"${POP3[$name]}" "${LMTP[$name]}" "$3"
	dovecot -F -c "$d/dovecot.conf" >"$d/stdout.log" 2>&1 &
	PID[$name]=$!
	STARTED_PIDS="$STARTED_PIDS ${PID[$name]}"
	wait_port "${IMAP[$name]}" "${PID[$name]}" ||
		{ cat "$d/dovecot.log" >&2; log "$name did not start"; exit 1; }
}

stop_server() {
	local p=${PID[$1]}
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

write_stratus_conf() {	# write_stratus_conf NAME DIR OBOX_FS
	local n=$1 d=$2 fs=$3
	cat >"$d/stratus.conf" <<CONF
# Stratus for bench/run.sh ($n): objects in $fs
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = $d/run
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_fsync = never
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
  # as the reference backend: bodies through a local fscache, indexes
  # compressed (spec/backend-configuration.txt)
  obox_fs = fscache:512M:$d/fscache:$fs
  obox_index_fs = compress:gz:6:$fs
  # the spec's metacache policy: index bundles are uploaded in the
  # background, not after every delivery
  obox_use_object_ids = yes
  metacache_delay_uploads = yes
  metacache_close_delay = 2s
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${IMAP[$n]}
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${POP3[$n]}
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${LMTP[$n]}
  }
}
CONF
}

start_stratus() {	# start_stratus [NAME [OBOX_FS]]; sets STRATUS_REASON on failure
	local n=${1:-stratus} d=$W/${1:-stratus}
	mkdir -p "$d/run" "$d/home" "$d/objects" "$d/fscache"
	local fs=${2:-posix:prefix=$d/objects/}
	cp "$W/users" "$d/users"
	[ -n "${IMAP[$n]:-}" ] || {
		IMAP[$n]=$(free_port) POP3[$n]=$(free_port) LMTP[$n]=$(free_port)
	}
	write_stratus_conf "$n" "$d" "$fs"
	# a restart must not find the previous start's "ready" line
	[ -f "$d/stratus.log" ] && mv "$d/stratus.log" "$d/stratus.log.$(date +%s%N)"
	"$STRATUSCTL" -c "$d/stratus.conf" run >"$d/stratus.log" 2>&1 &
	PID[$n]=$!
	STARTED_PIDS="$STARTED_PIDS ${PID[$n]}"
	for _ in $(seq 1 300); do
		grep -Eq 'all [0-9]+ services ready' "$d/stratus.log" && return 0
		kill -0 "${PID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	[ "$n" = stratus ] && STRATUS_REASON="n/a (Stratus did not start)"
	log "$n did not start:"; tail -5 "$d/stratus.log" >&2
	return 1
}

# The SigV4-checking S3 server of the tests (recipes.md), if installed.
S3_PORT=""
start_s3rver() {
	[ -d "$ROOT/tests/node_modules/@20minutes/s3rver" ] && command -v node >/dev/null || return 1
	local d=$W/s3rver
	mkdir -p "$d/data"
	S3_PORT=$(free_port)
	NODE_OPTIONS=--openssl-legacy-provider node "$ROOT/tests/s3rver/run-s3rver.js" \
		"$d/data" "$S3_PORT" >"$d/s3rver.log" 2>&1 &
	PID[s3rver]=$!
	STARTED_PIDS="$STARTED_PIDS ${PID[s3rver]}"
	for _ in $(seq 1 200); do
		code=$(curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
			--user S3RVER:S3RVER -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
			-X PUT "http://127.0.0.1:$S3_PORT/mails" 2>/dev/null || true)
		[ "$code" = 200 ] && return 0
		kill -0 "${PID[s3rver]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Requests sent = outcomes counted (2xx/4xx/5xx/network error per attempt,
# so a retried request counts twice, as the provider bills it).
blob_counters() {	# put get head list delete totals from stratusctl status
	"$STRATUSCTL" -c "$W/stratus/stratus.conf" status blob 2>/dev/null | awk '
		{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] ~ /_(2xx|4xx|5xx|neterr)$/) {
			split(kv[1], op, "_"); tot[op[1]] += kv[2] } }
		END { printf "%d %d %d %d %d\n", tot["put"], tot["get"], tot["head"], tot["list"], tot["delete"] }'
}

# -- measuring -----------------------------------------------------------
RES=$W/results.tsv
: >"$RES"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RES"; }

# lg SERVER WORKLOAD RUN MODE ARGS...: one load generator run, recorded.
lg() {
	local s=$1 wl=$2 run=$3 mode=$4 port
	shift 4
	case $mode in
		lmtp) port=${LMTP[$s]} ;;
		pop3) port=${POP3[$s]} ;;
		*) port=${IMAP[$s]} ;;
	esac
	local out=$W/out/$s.$wl.$run
	mkdir -p "$W/out"
	local c0 c1 rc=0
	c0=$(tree_cpu_ticks "${PID[$s]}")
	# the load generator bounds itself; timeout is the last resort. It
	# runs in the background so that a signal reaches our trap at once
	# (bash runs traps only between foreground commands).
	timeout -k 10 900 "$LG" "$mode" --port "$port" --label "$s/$wl/$run" --seed "$SEED" "$@" \
		>"$out.txt" 2>"$out.err" &
	CURRENT_LG=$!
	wait "$CURRENT_LG" || rc=$?
	CURRENT_LG=""
	c1=$(tree_cpu_ticks "${PID[$s]}")
	record "$s" "$wl" "$run" cpu_s "$(awk -v a="$c0" -v b="$c1" -v t="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f", (b - a) / t }')"
	record "$s" "$wl" "$run" rc "$rc"
	awk '/^summary/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); print kv[1] "\t" kv[2] } }
	     /^stat/ { op = ""; for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "op") op = kv[2];
		if (kv[1] == "p50_ms" || kv[1] == "p99_ms" || kv[1] == "count" || kv[1] == "errors")
			print op "." kv[1] "\t" kv[2] } }' "$out.txt" |
	while IFS=$'\t' read -r k v; do record "$s" "$wl" "$run" "$k" "$v"; done
	if [ "$rc" -ne 0 ]; then
		log "$s $wl run $run: errors ($(head -c 300 "$out.err" | tr '\n' ' '))"
	fi
	return "$rc"
}

# Every mailbox gets its first message from a single connection: two
# parallel first deliveries to one new Dovecot user can both try to
# create its INBOX, and one gets "451 Mailbox already exists".
preload_base() {	# the users' mailboxes, and one message for each LMTP user
	local s=$1
	lg "$s" preload-users 0 lmtp --files "$W/corpus-user" --users "$USERS" \
		--rcpts "$PRELOAD_RCPTS" --clients 1 --duration 0 --max-errors 5 || return 1
	lg "$s" preload-lmtp-users 0 lmtp --files "$W/corpus-one" --users "$USERS" \
		--user-fmt 'lmtp%03u@example.com' --rcpts "$PRELOAD_RCPTS" --clients 1 \
		--duration 0 --max-errors 5
}
preload_big() {
	local s=$1
	lg "$s" preload-big-first 0 lmtp --user-fmt 'big%u@example.com' --users 1 \
		--max-messages 1 --msg-size 2048 --clients 1 --duration 0 --max-errors 5 || return 1
	lg "$s" preload-big 0 lmtp --user-fmt 'big%u@example.com' --users 1 --seed 7 \
		--max-messages $((BIG - 1)) --msg-size 2048 --clients 4 --duration 0 \
		--max-errors 5
}
preload_pop() {
	lg "$1" preload-pop 0 lmtp --files "$W/corpus-pop" --user-fmt 'pop%u@example.com' \
		--users 1 --clients 1 --duration 0 --max-errors 5
}
preload() {	# preload SERVER: same mailboxes everywhere, through LMTP
	preload_base "$1" && preload_big "$1" && preload_pop "$1"
}

preload_imap() {	# preload_imap SERVER: the same mailboxes through APPEND
	local s=$1
	lg "$s" preload-users 0 imap-append --files "$W/corpus-user" --clients "$USERS" \
		--users "$USERS" --max-errors 5 || return 1
	lg "$s" preload-big 0 imap-append --user-fmt 'big%u@example.com' --users 1 \
		--clients 1 --max-messages "$BIG" --msg-size 2048 --max-errors 5 || return 1
	lg "$s" preload-pop 0 imap-append --files "$W/corpus-pop" --user-fmt 'pop%u@example.com' \
		--users 1 --clients 1 --max-errors 5 || return 1
}

workload() {	# workload SERVER NAME RUN
	local s=$1 wl=$2 run=$3
	case $wl in
	sess_lo) lg "$s" "$wl" "$run" imap-sessions --clients "$C_LO" --duration "$DUR" \
		--mix "$MIX" --expect-messages "$PER_USER" ;;
	sess_hi) lg "$s" "$wl" "$run" imap-sessions --clients "$C_HI" --duration "$DUR" \
		--mix "$MIX" --expect-messages "$PER_USER" ;;
	cmd_lo) lg "$s" "$wl" "$run" imap-commands --clients "$C_LO" --duration "$DUR" \
		--mix "$MIX" --expect-messages "$PER_USER" ;;
	cmd_hi) lg "$s" "$wl" "$run" imap-commands --clients "$C_HI" --duration "$DUR" \
		--mix "$MIX" --expect-messages "$PER_USER" ;;
	big) lg "$s" "$wl" "$run" imap-commands --clients 1 --user-fmt 'big%u@example.com' \
		--users 1 --duration "$DUR" --mix select=1,body=1 --expect-messages "$BIG" ;;
	lmtp) lg "$s" "$wl" "$run" lmtp --clients "$LMTP_CONNS" --rcpts 1 \
		--msg-size "$LMTP_SIZE" --user-fmt 'lmtp%03u@example.com' --users "$USERS" \
		--duration "$DUR" ;;
	pop3) lg "$s" "$wl" "$run" pop3 --clients 1 --max-sessions 1 --duration 0 \
		--user-fmt 'pop%u@example.com' --users 1 --expect-messages "$POP_MSGS" ;;
	esac
}

# idle SERVER: K logged-in IDLE connections; PSS before and while held.
idle_row() {
	local s=$1 wait_extra=${2:-0} out=$W/out/$1.idle
	local base
	base=$(tree_pss_kb "${PID[$s]}")
	"$LG" imap-idle --port "${IMAP[$s]}" --clients "$IDLE_K" --users "$USERS" \
		--hold $((IDLE_HOLD + wait_extra + 60)) --duration "$IDLE_SETUP" --connect-parallel 50 \
		--label "$s/idle" >"$out.txt" 2>"$out.err" &
	local lgpid=$!
	STARTED_PIDS="$STARTED_PIDS $lgpid"
	for _ in $(seq 1 $((IDLE_SETUP * 10 + 50))); do
		grep -q '^idle ready' "$out.txt" && break
		kill -0 "$lgpid" 2>/dev/null || break
		sleep 0.1
	done
	local ready
	ready=$(awk '/^idle ready/ { split($2, kv, "="); print kv[2] }' "$out.txt")
	sleep $((IDLE_HOLD + wait_extra))
	local pss nprocs
	pss=$(tree_pss_kb "${PID[$s]}")
	nprocs=$(tree_nprocs "${PID[$s]}")
	kill -TERM "$lgpid" 2>/dev/null || true
	wait "$lgpid" 2>/dev/null || true
	record "$s" idle 1 idling "${ready:-0}"
	record "$s" idle 1 pss_base_kb "$base"
	record "$s" idle 1 pss_kb "$pss"
	record "$s" idle 1 nprocs "$nprocs"
	record "$s" idle 1 errors "$(awk '/^summary/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "errors") print kv[2] } }' "$out.txt")"
}

# -- Stratus: start and find out what it serves -------------------------------
STRATUS_IMAP="" STRATUS_LMTP="" STRATUS_POP3="" STRATUS_IDLE="" STRATUS_BIG=""
if [ -z "$STRATUS_REASON" ] && start_stratus; then
	log "Stratus started; preloading and probing its protocols"
	SERVERS="stratus"
	PRELOADED=""
	if preload_base stratus; then
		STRATUS_LMTP=1 PRELOADED=1
		# the large mailbox and the POP3 mailbox cost minutes to fill
		# while delivery is slow: only when the commands they need work
		lg stratus probe-body 0 imap-commands --clients 1 --users 1 --max-rounds 1 \
			--duration 10 --mix select=1,body=1 --expect-messages "$PER_USER" \
			--max-errors 1 && { preload_big stratus || true; }
		lg stratus probe-pop3-users 0 pop3 --clients 1 --max-sessions 1 --duration 10 \
			--users 1 --expect-messages "$PER_USER" --max-errors 1 &&
			{ preload_pop stratus || true; }
	elif lg stratus probe-append 0 imap-append --clients 1 --users 1 \
		--user-fmt 'probe%u@example.com' --max-messages 1 --max-errors 1; then
		# LMTP cannot store yet but APPEND can: preload through IMAP
		# (only if LMTP stored nothing, else mailboxes would differ)
		preload_imap stratus && PRELOADED=1
	fi
	if [ -n "$PRELOADED" ]; then
		lg stratus probe-imap 0 imap-commands --clients 1 --users 1 --max-rounds 1 \
			--duration 10 --mix "$MIX" --expect-messages "$PER_USER" --max-errors 1 &&
			STRATUS_IMAP=1
		# the large-mailbox row needs only SELECT and FETCH BODY[]
		lg stratus probe-big 0 imap-commands --clients 1 --users 1 --max-rounds 1 \
			--duration 10 --mix select=1,body=1 --user-fmt 'big%u@example.com' \
			--expect-messages "$BIG" --max-errors 1 && STRATUS_BIG=1
		lg stratus probe-pop3 0 pop3 --clients 1 --max-sessions 1 --duration 10 \
			--user-fmt 'pop%u@example.com' --users 1 --expect-messages "$POP_MSGS" \
			--max-errors 1 && STRATUS_POP3=1
	fi
	# the idle row needs only LOGIN, SELECT and IDLE
	lg stratus probe-idle 0 imap-idle --clients 1 --users 1 --hold 0 --duration 10 \
		--max-errors 1 && STRATUS_IDLE=1
	log "Stratus serves: imap=${STRATUS_IMAP:-no} idle=${STRATUS_IDLE:-no}" \
		"lmtp=${STRATUS_LMTP:-no} pop3=${STRATUS_POP3:-no}"
fi
# The S3 variant runs what posix Stratus serves, with the same preload.
S3_OK=0
if [ $PROFILE != smoke ] && [ "${STRATUS_IMAP:-0}${STRATUS_LMTP:-0}${STRATUS_POP3:-0}" != 000 ]; then
	if start_s3rver && start_stratus stratus-s3 \
		"s3:http://S3RVER:S3RVER@127.0.0.1:$S3_PORT/?bucket=mails"; then
		if [ "${STRATUS_LMTP:-0}" = 1 ]; then
			preload_base stratus-s3 && S3_OK=1
			[ "${STRATUS_BIG:-0}" = 1 ] && { preload_big stratus-s3 || S3_OK=0; }
			[ "${STRATUS_POP3:-0}" = 1 ] && { preload_pop stratus-s3 || S3_OK=0; }
		else
			preload_imap stratus-s3 && S3_OK=1
		fi
		[ $S3_OK = 1 ] && SERVERS="$SERVERS stratus-s3"
	fi
	log "Stratus on S3 (s3rver): $([ $S3_OK = 1 ] && echo yes || echo no)"
fi
record stratus-s3 meta 0 ok "$S3_OK"
record stratus meta 0 imap "${STRATUS_IMAP:-0}"
record stratus meta 0 lmtp "${STRATUS_LMTP:-0}"
record stratus meta 0 pop3 "${STRATUS_POP3:-0}"
record stratus meta 0 idle "${STRATUS_IDLE:-0}"
record stratus meta 0 big "${STRATUS_BIG:-0}"
# the first error of each failed probe says what is missing
first_error() {	# first_error PROBE [PREFIX]: "APPEND: Unknown command."
	local f=$W/out/stratus.$1.0.err
	[ -s "$f" ] || return 1
	sed -n -E '1{s/^error: //;s/^(imap|pop3|lmtp):? [^ ]*@[^ ]* //;s/a[0-9]+ (BAD|NO) //
		s/Error in IMAP command [A-Z]+: //;s/\|/ /g;p}' "$f" | cut -c1-70 | sed "s/^/${2:-}/"
}
[ "${STRATUS_LMTP:-0}" = 1 ] || record stratus meta 0 why_lmtp "$(first_error preload-users)"
[ "${STRATUS_IMAP:-0}" = 1 ] || record stratus meta 0 why_imap "$(first_error probe-imap || first_error probe-append 'preload: ')"
[ "${STRATUS_BIG:-0}" = 1 ] || record stratus meta 0 why_big "$(first_error probe-body || first_error probe-big || first_error probe-append 'preload: ')"
[ "${STRATUS_POP3:-0}" = 1 ] || record stratus meta 0 why_pop3 "$(first_error probe-pop3-users || first_error probe-pop3 || first_error probe-append 'preload: ')"
[ "${STRATUS_IDLE:-0}" = 1 ] || record stratus meta 0 why_idle "$(first_error probe-idle)"
record stratus meta 0 reason "${STRATUS_REASON:-}"

VARIANTS="dovecot-mdbox dovecot-maildir"
if [ $PROFILE = smoke ]; then
	VARIANTS=""
	[ "${STRATUS_IMAP:-0}${STRATUS_LMTP:-0}${STRATUS_POP3:-0}" = 111 ] || VARIANTS="dovecot-mdbox"
fi
for v in $VARIANTS; do
	case $v in
		dovecot-mdbox) start_dovecot "$v" 'mdbox:~/mdbox' 0 ;;
		dovecot-maildir) start_dovecot "$v" 'maildir:~/Maildir' 0 ;;
	esac
	SERVERS="$SERVERS $v"
	# the LMTP workload writes to its own users; the others need mailboxes
	[ "$v" = dovecot-maildir ] && [ "$MAILDIR_WORKLOADS" = lmtp ] && continue
	log "$v started; preloading"
	preload "$v" || { log "preload of $v failed"; exit 1; }
done

serves() {	# serves SERVER WORKLOAD: may this server run this workload?
	if [ "$1" = dovecot-maildir ]; then
		case " $MAILDIR_WORKLOADS " in *" $2 "*) return 0 ;; *) return 1 ;; esac
	fi
	case $1 in stratus|stratus-s3) ;; *) return 0 ;; esac
	case $2 in
		lmtp) [ "${STRATUS_LMTP:-0}" = 1 ] ;;
		pop3) [ "${STRATUS_POP3:-0}" = 1 ] ;;
		idle) [ "${STRATUS_IDLE:-0}" = 1 ] ;;
		big) [ "${STRATUS_BIG:-0}" = 1 ] ;;
		*) [ "${STRATUS_IMAP:-0}" = 1 ] ;;
	esac
}

# -- alternating runs --------------------------------------------------------
WORKLOADS="sess_lo sess_hi cmd_lo cmd_hi big lmtp pop3"
for run in $(seq 1 "$RUNS"); do
	log "run $run/$RUNS"
	for wl in $WORKLOADS; do
		for s in $SERVERS; do
			serves "$s" "$wl" || continue
			workload "$s" "$wl" "$run" || true
		done
	done
done

# -- object-storage requests per operation (Stratus only) --------------------
if [ "${STRATUS_LMTP:-0}" = 1 ] || [ "${STRATUS_IMAP:-0}" = 1 ]; then
	log "object-storage requests per operation"
	delta() {	# delta NAME COUNT CMD...: blob counters around CMD, per op
		local name=$1 n=$2 b a
		shift 2
		b=$(blob_counters)
		"$@" >/dev/null 2>&1 || { record stratus objreq 1 "$name" "error"; return 0; }
		a=$(blob_counters)
		record stratus objreq 1 "$name" "$(echo "$b $a" | awk -v n="$n" '{ printf "PUT %.2f GET %.2f HEAD %.2f LIST %.2f DELETE %.2f", ($6-$1)/n, ($7-$2)/n, ($8-$3)/n, ($9-$4)/n, ($10-$5)/n }')"
	}
	[ "${STRATUS_LMTP:-0}" = 1 ] &&
		delta delivery 20 "$LG" lmtp --port "${LMTP[stratus]}" --clients 1 --max-messages 20 \
			--duration 0 --user-fmt 'lmtp%03u@example.com' --users "$USERS"
	if [ "${STRATUS_IMAP:-0}" = 1 ]; then
		one() { "$LG" imap-commands --port "${IMAP[stratus]}" --clients 1 --users 1 \
			--user-first "$1" --max-rounds 1 --duration 0 --mix "$2" --fixed-msg 2; }
		# a bare LOGIN/SELECT/LOGOUT session is the baseline subtracted below
		stop_server stratus; start_stratus || true
		delta select_cold_session 1 one 3 ""
		delta select_warm_session 1 one 3 ""
		delta fetch_uncached_session 1 one 3 body=1
		delta fetch_cached_session 1 one 3 body=1
	fi
fi

# -- idle connections --------------------------------------------------------
log "idle connections: $IDLE_K per server"
for s in $SERVERS; do
	serves "$s" idle || continue
	idle_row "$s"
done
if [ $PROFILE != smoke ]; then
	# IDLE needs only a login and an (auto-created) INBOX: no preload
	start_dovecot dovecot-hibernate 'mdbox:~/mdbox' "$HIB"
	idle_row dovecot-hibernate $((HIB + 2))
	stop_server dovecot-hibernate
fi

# -- machine, versions, report ----------------------------------------------
{
	echo "profile	$PROFILE"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cores	$(nproc)"
	echo "cpu	$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "memory	$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel	$(uname -r)"
	echo "os	$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "dovecot	$(dovecot --version)"
	echo "stratus	$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "runs	$RUNS"
	echo "duration_s	$DUR"
	echo "clients	$C_LO $C_HI"
	echo "users	$USERS"
	echo "per_user	$PER_USER"
	echo "user_max	$USER_MAX"
	echo "big	$BIG"
	echo "pop_msgs	$POP_MSGS"
	echo "idle_k	$IDLE_K"
	echo "hibernate_s	$HIB"
	echo "lmtp	$LMTP_CONNS $LMTP_SIZE"
	echo "mix	$MIX"
	echo "seed	$SEED"
	echo "corpus	$(tr '\n' ';' <"$W/corpus.txt")"
	echo "elapsed_s	$(( $(date +%s) - T0 ))"
	echo "loadavg	$LOADAVG_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
} >"$W/meta.tsv"
mkdir -p "$BENCH/results"
OUT=$BENCH/results/latest.md
[ $PROFILE = smoke ] && OUT=$BENCH/results/smoke.md
python3 "$BENCH/report.py" "$W/meta.tsv" "$RES" >"$OUT"
cp "$RES" "${OUT%.md}.tsv"
log "wrote $OUT"
cat "$OUT"
