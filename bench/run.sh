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
#            mailbox, 10,000 idle connections). Writes results/full.md.
#   --only pop3 (after the profile): only the POP3 row against Dovecot
#            mdbox, with its maildrop and one user of each other kind;
#            no S3, maildir, matrix, object counts, idle rows, nor the
#            kept preloaded state. For A/B runs of POP3 changes; use
#            BENCH_OUT (the report's other rows read n/a).
#
# Everything runs in a mktemp folder on 127.0.0.1, every server started
# here is stopped by PID on exit (trap), every wait is bounded. Stratus
# rows read "n/a" with the reason when a Stratus protocol does not serve
# yet: a number is only printed when the load generator verified every
# answer. Stratus is built from the committed HEAD (plus this bench/
# folder as it is in the working tree) in /tmp/stratus-bench-h8/, so that
# other engineers' unfinished files in the shared tree cannot break or
# change what is measured. BENCH_BUILD=DIR uses that meson build folder
# as it is instead (e.g. the test build for --smoke); BENCH_KEEP=1 keeps
# the temp folder; BENCH_OUT=FILE.md writes the report there.
set -euo pipefail

PROFILE=quick
case "${1:-}" in
	--smoke) PROFILE=smoke ;;
	--quick|"") PROFILE=quick ;;
	--full) PROFILE=full ;;
	*) echo "usage: $0 [--smoke|--quick|--full] [--only pop3]" >&2; exit 2 ;;
esac
ONLY=""
case "${2:-}" in
	"") ;;
	--only) [ "${3:-}" = pop3 ] || { echo "--only: pop3 only" >&2; exit 2; }
		ONLY=pop3 ;;
	*) echo "usage: $0 [--smoke|--quick|--full] [--only pop3]" >&2; exit 2 ;;
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
BUILD=${BENCH_BUILD:-}
SNAP=/tmp/stratus-bench-h8
. "$BENCH/lib-proc.sh"
T0=$(date +%s)
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# -- parameters per profile ------------------------------------------------
case $PROFILE in
# MATRIX_RUNS/MATRIX_DUR: the LMTP matrix of issue #7 (message size x
# connections x recipients); S3_WORKLOADS: what the S3 column runs.
smoke)
	RUNS=1 DUR=1 C_LO=2 C_HI=4 USERS=4 PER_USER=4 USER_MAX=65536
	BIG=20 POP_MSGS=10 IDLE_K=20 IDLE_HOLD=1 HIB=1
	MATRIX_RUNS=0 MATRIX_DUR=1 ;;
quick)
	RUNS=3 DUR=1 C_LO=10 C_HI=100 USERS=100 PER_USER=10 USER_MAX=262144
	BIG=2000 POP_MSGS=1000 IDLE_K=250 IDLE_HOLD=2 HIB=1
	MATRIX_RUNS=1 MATRIX_DUR=1 ;;
full)
	RUNS=3 DUR=4 C_LO=10 C_HI=100 USERS=100 PER_USER=50 USER_MAX=5242880
	BIG=100000 POP_MSGS=1000 IDLE_K=10000 IDLE_HOLD=5 HIB=2
	MATRIX_RUNS=3 MATRIX_DUR=2 ;;
esac
# BENCH_SIZES="VAR=N ...": smaller sizes to check a profile's code paths
# quickly (e.g. --full with BIG=2000); the report shows the sizes used.
for kv in ${BENCH_SIZES:-}; do
	case ${kv%%=*} in
		RUNS|DUR|USERS|PER_USER|USER_MAX|BIG|POP_MSGS|IDLE_K|MATRIX_RUNS|MATRIX_DUR)
			printf -v "${kv%%=*}" '%d' "${kv#*=}" ;;
		*) echo "BENCH_SIZES: unknown $kv" >&2; exit 2 ;;
	esac
done
# --only pop3: the other rows' mailboxes shrink to one user
[ "$ONLY" = pop3 ] && USERS=1 MATRIX_RUNS=0
# 100 clients' sessions need a few seconds before any of them ends
DUR_SESS_HI=$(( DUR > 3 ? DUR : 3 ))
[ $PROFILE = smoke ] && DUR_SESS_HI=$DUR
S3_WORKLOADS="sess_lo sess_hi cmd_lo cmd_hi big lmtp pop3"
[ $PROFILE = full ] || S3_WORKLOADS="sess_lo cmd_lo lmtp"
LMTP_CONNS=4 LMTP_SIZE=4096 SEED=42
# Dovecot mdbox is the peer for every row; maildir is the peer the issue
# names for LMTP. --quick runs maildir only there to stay under 3 minutes;
# the idle row compares with mdbox and hibernated mdbox only (Dovecot
# starts about 85 imap processes a second here: 10,000 take two minutes).
MAILDIR_WORKLOADS="sess_lo sess_hi cmd_lo cmd_hi big lmtp pop3"
[ $PROFILE = full ] || MAILDIR_WORKLOADS="lmtp"
MIX="flags=1,headers=1,body=2,store=1,search=1,append=1"
PRELOAD_CONNS=4
PRELOAD_RCPTS=$(( USERS < 4 * 25 ? (USERS + 3) / 4 : 25 ))
IDLE_SETUP=$(( IDLE_K / 20 + 60 ))	# seconds allowed to get every client idling (Dovecot
				# forks an imap process per login: ~30/s on a busy machine)

log() { printf '[bench %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }

# phase NAME: closes the previous phase (its wall time is printed and goes
# to the report's timing table) and opens NAME.
PHASE="" PHASE_T0=0 PHASES=""
now_ms() { date +%s%3N; }
phase() {
	local t
	t=$(now_ms)
	if [ -n "$PHASE" ]; then
		log "phase $PHASE took $(awk -v d=$((t - PHASE_T0)) 'BEGIN { printf "%.1f", d / 1000 }') s"
		PHASES="$PHASES$PHASE=$((t - PHASE_T0));"
	fi
	PHASE=$1 PHASE_T0=$t
}

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
	for p in ${BG_PIDS:-}; do kill -TERM "$p" 2>/dev/null; done
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
if [ -n "${BENCH_NO_BUILD:-}" ]; then
	:	# a test: installs nothing (Dovecot is used only when installed)
elif ! dpkg -s dovecot-imapd dovecot-pop3d dovecot-lmtpd rsync >/dev/null 2>&1; then
	log "installing Dovecot CE (and rsync for the build snapshot) from Debian"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		dovecot-imapd dovecot-pop3d dovecot-lmtpd rsync >"$W/apt.log" 2>&1 ||
		{ cat "$W/apt.log" >&2; exit 1; }
fi
STRATUS_VERSION=""
if [ -z "$BUILD" ]; then
	# committed HEAD + bench/ from the working tree. Unchanged files keep
	# their timestamps and changed ones get the current time (rsync
	# --checksum without -t: git archive stamps every file with the commit
	# time), so rebuilds stay incremental and correct.
	rm -rf "$SNAP/stage"; mkdir -p "$SNAP/stage" "$SNAP/src"
	git -C "$ROOT" archive HEAD | tar -x -C "$SNAP/stage"
	rsync -a --delete "$ROOT/bench/" "$SNAP/stage/bench/" --exclude results
	rsync -rlpD --delete --checksum "$SNAP/stage/" "$SNAP/src/"
	rm -rf "$SNAP/stage"
	[ -d "$ROOT/tests/node_modules" ] && ln -sfn "$ROOT/tests/node_modules" "$SNAP/src/tests/node_modules"
	BUILD=$SNAP/build
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SNAP/src" >"$W/meson-setup.log" 2>&1 ||
		{ cat "$W/meson-setup.log" >&2; exit 1; }
	STRATUS_VERSION="$(git -C "$ROOT" rev-parse --short HEAD) (committed HEAD$(git -C "$ROOT" diff --quiet HEAD -- bench || echo '; bench/ from the working tree'))"
fi
LG=$BUILD/bench/stratus-loadgen
STRATUS_REASON=""
if [ -n "${BENCH_NO_BUILD:-}" ]; then
	# a test (`make test` runs --smoke): the build is done already, and
	# rebuilding here could race with the test runner
	[ -x "$LG" ] || { echo "no $LG" >&2; exit 1; }
	[ -x "$BUILD/svc-ctl/stratusctl" ] || STRATUS_REASON="n/a (Stratus not built)"
else
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" >"$W/meson-setup.log" 2>&1 ||
	{ cat "$W/meson-setup.log" >&2; exit 1; }
meson compile -C "$BUILD" stratus-loadgen >"$W/build-loadgen.log" 2>&1 ||
	{ cat "$W/build-loadgen.log" >&2; exit 1; }
# Only the programs the benchmark runs: a unit test that does not build
# must not hide a working server, and a service that does not build must
# not be benchmarked from a stale binary (ninja -n says what is stale).
STRATUS_TARGETS="svc-ctl/stratusctl svc-auth/stratus-auth svc-blob/stratus-blob
	svc-index/stratus-index svc-quota/stratus-quota svc-imap/stratus-imap
	svc-pop3/stratus-pop3 svc-lmtp/stratus-lmtp svc-managesieve/stratus-managesieve"
# shellcheck disable=SC2086
ninja -C "$BUILD" -k 0 $STRATUS_TARGETS >"$W/build-stratus.log" 2>&1 || true
# shellcheck disable=SC2086
if ! ninja -C "$BUILD" -n $STRATUS_TARGETS 2>/dev/null | grep 'no work to do' >/dev/null; then
	STRATUS_REASON="n/a (Stratus does not build)"
	log "Stratus does not build:"; grep -m3 -E 'error|ERROR' "$W/build-stratus.log" >&2 || true
fi
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
phase corpus
log "generating the corpus (seed $SEED)"
# gen_corpus NAME ARGS...: the generator is deterministic, so its output
# is kept in /tmp under a hash of the generator and its arguments
gen_corpus() {
	local name=$1 key cache
	shift
	key=$( (cat "$BENCH/corpus/gen-corpus.py"; echo "$@") | sha1sum | cut -c1-16)
	cache=$SNAP/corpus-cache/$key
	if [ ! -f "$cache/done" ]; then
		# built aside and renamed: another run may be filling it too
		local tmp
		mkdir -p "$SNAP/corpus-cache"
		tmp=$(mktemp -d "$SNAP/corpus-cache/new.XXXXXX")
		python3 "$BENCH/corpus/gen-corpus.py" --out "$tmp/files" "$@" >"$tmp/summary.txt"
		touch "$tmp/done"
		rm -rf "$cache.old"; [ -d "$cache" ] && mv "$cache" "$cache.old"
		mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
		rm -rf "$cache.old"
	fi
	cp -al "$cache/files" "$W/$name"
	cat "$cache/summary.txt" >>"$W/corpus.txt"
}
: >"$W/corpus.txt"
gen_corpus corpus-user --count "$PER_USER" --seed "$SEED" --max-size "$USER_MAX"
gen_corpus corpus-pop --count "$POP_MSGS" --seed $((SEED + 1)) --max-size 131072
mkdir -p "$W/corpus-one" "$W/corpus-pop-first"
cp "$W/corpus-user/00001.eml" "$W/corpus-one/"
cp -al "$W/corpus-pop" "$W/corpus-pop-rest"
pop_files=("$W"/corpus-pop-rest/*)	# (not ls | head: SIGPIPE under pipefail)
mv "${pop_files[0]}" "$W/corpus-pop-first/"

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
# as the Dovecot peer: 10,000 IDLE connections come from 100 users
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
	local c0 c1 rc=0 w0
	w0=$(now_ms)
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
	record "$s" "$wl" "$run" wall_s "$(awk -v d=$(( $(now_ms) - w0 )) 'BEGIN { printf "%.2f", d / 1000 }')"
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

# Preloading is most of a run's time when delivery is slow, so it uses
# parallel LMTP connections. Every mailbox gets its first message from a
# single connection: two parallel first deliveries to one new Dovecot
# user can both try to create its INBOX, and one gets "451 Mailbox
# already exists". With --files each connection owns whole batches of
# users, so every mailbox gets the same messages in the same order on
# every server (UIDs match).
preload_base() {	# preload_base SERVER [USERS]: the users' mailboxes, and one
	local s=$1 n=${2:-$USERS}	# message for each LMTP user
	lg "$s" preload-users 0 lmtp --files "$W/corpus-user" --users "$n" \
		--rcpts "$PRELOAD_RCPTS" --clients "$PRELOAD_CONNS" --duration 0 \
		--max-errors 5 || return 1
	preload_lmtp_users "$s"
}
preload_lmtp_users() {	# they exist before parallel deliveries reach them
	local s=$1
	lg "$s" preload-lmtp-users 0 lmtp --files "$W/corpus-one" --users "$USERS" \
		--user-fmt 'lmtp%03u@example.com' --rcpts "$PRELOAD_RCPTS" \
		--clients "$PRELOAD_CONNS" --duration 0 --max-errors 5
}
preload_big() {
	local s=$1
	lg "$s" preload-big-first 0 lmtp --user-fmt 'big%u@example.com' --users 1 \
		--max-messages 1 --msg-size 2048 --clients 1 --duration 0 --max-errors 5 || return 1
	lg "$s" preload-big 0 lmtp --user-fmt 'big%u@example.com' --users 1 --seed 7 \
		--max-messages $((BIG - 1)) --msg-size 2048 --clients 8 --duration 0 \
		--max-errors 5
}
preload_pop() {	# POP3 reads them all: their order does not matter
	lg "$1" preload-pop-first 0 lmtp --files "$W/corpus-pop-first" \
		--user-fmt 'pop%u@example.com' --users 1 --clients 1 --duration 0 \
		--max-errors 5 || return 1
	lg "$1" preload-pop 0 lmtp --files "$W/corpus-pop-rest" --any-order \
		--user-fmt 'pop%u@example.com' --users 1 --clients "$PRELOAD_CONNS" \
		--duration 0 --max-errors 5
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
	sess_hi) lg "$s" "$wl" "$run" imap-sessions --clients "$C_HI" --duration "$DUR_SESS_HI" \
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
	lmtpm_*)	# lmtpm_SIZE_CONNS_RCPTS: one cell of the LMTP matrix
		local m size conns rcpts
		IFS=_ read -r m size conns rcpts <<<"$wl"
		lg "$s" "$wl" "$run" lmtp --clients "$conns" --rcpts "$rcpts" \
			--msg-size "$size" --user-fmt 'lmtp%03u@example.com' --users "$USERS" \
			--duration "$MATRIX_DUR" ;;
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

# --only pop3: no large mailbox, no S3 variant, no maildir peer
if [ "$ONLY" = pop3 ]; then
	preload_big() { return 0; }
	start_s3rver() { return 1; }
	S3_WORKLOADS="" MAILDIR_WORKLOADS=""
fi

# -- Dovecot: started first and preloaded in the background ------------------
# (preloads are most of a run's time: the servers fill at the same time)
DOVECOT_SERVERS=""
BG_PIDS=""
start_variant() {
	case $1 in
		dovecot-mdbox) start_dovecot "$1" 'mdbox:~/mdbox' 0 ;;
		dovecot-maildir) start_dovecot "$1" 'maildir:~/Maildir' 0 ;;
	esac
	DOVECOT_SERVERS="$DOVECOT_SERVERS $1"
}
# in_bg NAME CMD...: runs CMD in the background; $W/ok.NAME when it worked
in_bg() {
	local name=$1
	shift
	( "$@" && touch "$W/ok.$name" ) &
	BG_PIDS="$BG_PIDS $!"
}
wait_bg() {
	for p in $BG_PIDS; do wait "$p" 2>/dev/null || true; done
	BG_PIDS=""
}
if [ $PROFILE != smoke ]; then
	for v in dovecot-mdbox ${MAILDIR_WORKLOADS:+dovecot-maildir}; do
		start_variant "$v"
		# the LMTP workloads write to their own users; the others need mailboxes
		if [ "$v" = dovecot-maildir ] && [ "$MAILDIR_WORKLOADS" = lmtp ]; then
			in_bg "$v" preload_lmtp_users "$v"
			continue
		fi
		log "$v started; preloading in the background"
		in_bg "$v" preload "$v"
	done
fi

# -- Stratus: start and find out what it serves -------------------------------
STRATUS_IMAP="" STRATUS_LMTP="" STRATUS_POP3="" STRATUS_IDLE="" STRATUS_BIG=""
phase stratus-preload
S3_OK=0
s3_preload() {	# the S3 variant gets the same mailboxes (in the background);
	# without the 100-client rows only the first C_LO users are read
	local n=$USERS
	case " $S3_WORKLOADS " in *" sess_hi "*|*" cmd_hi "*) ;; *) n=$C_LO ;; esac
	preload_base stratus-s3 "$n" || return 1
	touch "$W/ok.s3-base"
	case " $S3_WORKLOADS " in *" big "*) preload_big stratus-s3 && touch "$W/ok.s3-big" ;; esac
	case " $S3_WORKLOADS " in *" pop3 "*) preload_pop stratus-s3 && touch "$W/ok.s3-pop3" ;; esac
	return 0
}
# Stratus's preloaded state is kept in /tmp and reused while the same
# binaries, harness and sizes are run again (filling the 100,000-message
# mailbox of --full by LMTP takes longer than the whole run may).
state_key() {
	# shellcheck disable=SC2086
	(cd "$BUILD" && sha1sum $STRATUS_TARGETS bench/stratus-loadgen
		cat "$BENCH_SELF_COPY" "$BENCH/corpus/gen-corpus.py"
		echo "$PROFILE $USERS $PER_USER $USER_MAX $BIG $POP_MSGS $SEED") |
		sha1sum | cut -c1-16
}
STATE_CACHE=$SNAP/state-cache
STATE_KEY=""
[ $PROFILE = smoke ] || [ -n "$ONLY" ] || STATE_KEY=$(state_key 2>/dev/null || true)
STATE_REUSED=""
if [ -n "$STATE_KEY" ] && [ -f "$STATE_CACHE/$STATE_KEY/done" ]; then
	mkdir -p "$W/stratus"
	# objects are written once and never changed in place: links suffice
	cp -al "$STATE_CACHE/$STATE_KEY/objects" "$STATE_CACHE/$STATE_KEY/fscache" "$W/stratus/"
	cp -a "$STATE_CACHE/$STATE_KEY/home" "$W/stratus/"
	STATE_REUSED=1
	log "reusing Stratus's preloaded state $STATE_KEY (same binaries and sizes)"
fi
save_state() {	# stops Stratus, copies its state, starts it again
	[ -n "$STATE_KEY" ] || return 0
	local t=$SECONDS
	stop_server stratus
	# the previous state goes aside at once and is deleted in the
	# background: removing many files takes long on a busy disk
	if [ -d "$STATE_CACHE" ]; then
		mv "$STATE_CACHE" "$STATE_CACHE.old.$$"
		nice rm -rf "$STATE_CACHE.old.$$" &
	fi
	mkdir -p "$STATE_CACHE/$STATE_KEY"
	cp -al "$W/stratus/objects" "$W/stratus/fscache" "$STATE_CACHE/$STATE_KEY/"
	cp -a "$W/stratus/home" "$STATE_CACHE/$STATE_KEY/"
	touch "$STATE_CACHE/$STATE_KEY/done"
	log "kept Stratus's preloaded state as $STATE_KEY ($((SECONDS - t)) s with the restart)"
	start_stratus
}
if [ -z "$STRATUS_REASON" ] && start_stratus; then
	log "Stratus started; preloading and probing its protocols"
	SERVERS="stratus"
	PRELOADED=""
	big_pid=""
	if [ -n "$STATE_REUSED" ]; then
		STRATUS_LMTP=1 PRELOADED=1
		if [ $PROFILE != smoke ] && start_s3rver && start_stratus stratus-s3 \
			"s3:http://S3RVER:S3RVER@127.0.0.1:$S3_PORT/?bucket=mails"; then
			in_bg s3 s3_preload
		fi
	elif preload_base stratus; then
		STRATUS_LMTP=1 PRELOADED=1
		# The S3 variant runs what posix Stratus serves, with the same preload.
		if [ $PROFILE != smoke ] && start_s3rver && start_stratus stratus-s3 \
			"s3:http://S3RVER:S3RVER@127.0.0.1:$S3_PORT/?bucket=mails"; then
			in_bg s3 s3_preload
		fi
		# the large mailbox and the POP3 mailbox cost minutes to fill
		# while delivery is slow: only when the commands they need work
		lg stratus probe-body 0 imap-commands --clients 1 --users 1 --max-rounds 1 \
			--duration 10 --mix select=1,body=1 --expect-messages "$PER_USER" \
			--max-errors 1 && { preload_big stratus & big_pid=$!; }
		lg stratus probe-pop3-users 0 pop3 --clients 1 --max-sessions 1 --duration 10 \
			--users 1 --expect-messages "$PER_USER" --max-errors 1 &&
			{ preload_pop stratus || true; }
		[ -n "$big_pid" ] && { wait "$big_pid" 2>/dev/null || true; }
		# kept only when every preload worked (a complete, correct state)
		if ! grep -q "^stratus	preload-[a-z-]*	0	rc	[^0]" "$RES"; then
			save_state || STRATUS_REASON="n/a (Stratus did not restart)"
		fi
	elif lg stratus probe-append 0 imap-append --clients 1 --users 1 \
		--user-fmt 'probe%u@example.com' --max-messages 1 --max-errors 1; then
		# LMTP cannot store yet but APPEND can: preload through IMAP
		# (only if LMTP stored nothing, else mailboxes would differ)
		preload_imap stratus && PRELOADED=1
		if [ $PROFILE != smoke ] && start_s3rver && start_stratus stratus-s3 \
			"s3:http://S3RVER:S3RVER@127.0.0.1:$S3_PORT/?bucket=mails"; then
			in_bg s3 preload_imap stratus-s3
		fi
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
phase wait-background-preloads
wait_bg
if [ -f "$W/ok.s3" ]; then
	S3_OK=1
	SERVERS="$SERVERS stratus-s3"
fi
[ -n "${PID[stratus-s3]:-}" ] && log "Stratus on S3 (s3rver): $([ $S3_OK = 1 ] && echo yes || echo no)"
for v in $DOVECOT_SERVERS; do
	[ -f "$W/ok.$v" ] || { log "preload of $v failed"; exit 1; }
done
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

# --smoke: Dovecot only when Stratus does not serve all three protocols
if [ $PROFILE = smoke ] && [ "${STRATUS_IMAP:-0}${STRATUS_LMTP:-0}${STRATUS_POP3:-0}" != 111 ] &&
	command -v dovecot >/dev/null; then
	phase dovecot-mdbox-preload
	start_variant dovecot-mdbox
	preload dovecot-mdbox || { log "preload of dovecot-mdbox failed"; exit 1; }
fi
SERVERS="$SERVERS $DOVECOT_SERVERS"

serves() {	# serves SERVER WORKLOAD: may this server run this workload?
	if [ "$1" = dovecot-maildir ]; then
		case " $MAILDIR_WORKLOADS " in *" $2 "*) return 0 ;; *) return 1 ;; esac
	fi
	case $1 in stratus|stratus-s3) ;; *) return 0 ;; esac
	if [ "$1" = stratus-s3 ]; then
		case " $S3_WORKLOADS " in *" $2 "*) ;; *) return 1 ;; esac
		[ "$2" = big ] && [ ! -f "$W/ok.s3-big" ] && return 1
		[ "$2" = pop3 ] && [ ! -f "$W/ok.s3-pop3" ] && return 1
	fi
	case $2 in
		lmtp*) [ "${STRATUS_LMTP:-0}" = 1 ] ;;
		pop3) [ "${STRATUS_POP3:-0}" = 1 ] ;;
		idle) [ "${STRATUS_IDLE:-0}" = 1 ] ;;
		big) [ "${STRATUS_BIG:-0}" = 1 ] ;;
		*) [ "${STRATUS_IMAP:-0}" = 1 ] ;;
	esac
}

# -- alternating runs --------------------------------------------------------
WORKLOADS="sess_lo sess_hi cmd_lo cmd_hi big lmtp pop3"
[ "$ONLY" = pop3 ] && WORKLOADS=pop3
for run in $(seq 1 "$RUNS"); do
	phase "run-$run"
	log "run $run/$RUNS"
	for wl in $WORKLOADS; do
		for s in $SERVERS; do
			serves "$s" "$wl" || continue
			workload "$s" "$wl" "$run" || true
		done
	done
done

# -- the LMTP matrix of issue #7 ------------------------------------------------
# 4 KB and 100 KB messages, 1 and 4 connections, 1 and 10 recipients;
# --quick: one run against Dovecot maildir (the issue's LMTP peer) only.
MATRIX=""
for size in 4096 102400; do
	for conns in 1 4; do
		for rcpts in 1 10; do MATRIX="$MATRIX lmtpm_${size}_${conns}_${rcpts}"; done
	done
done
MATRIX_SERVERS="stratus stratus-s3 dovecot-maildir dovecot-mdbox"
[ $PROFILE = full ] || MATRIX_SERVERS="stratus dovecot-maildir"
for run in $(seq 1 "$MATRIX_RUNS"); do
	phase "lmtp-matrix-$run"
	log "LMTP matrix run $run/$MATRIX_RUNS"
	for wl in $MATRIX; do
		for s in $MATRIX_SERVERS; do
			case " $SERVERS " in *" $s "*) ;; *) continue ;; esac
			serves "$s" lmtp || continue
			workload "$s" "$wl" "$run" || true
		done
	done
done

# -- object-storage requests per operation (Stratus only) --------------------
if [ $PROFILE != smoke ] && [ -z "$ONLY" ] &&
	{ [ "${STRATUS_LMTP:-0}" = 1 ] || [ "${STRATUS_IMAP:-0}" = 1 ]; }; then
	phase objreq
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
	# per message (one transaction) with 10 recipients
	[ "${STRATUS_LMTP:-0}" = 1 ] &&
		delta delivery_10rcpt 20 "$LG" lmtp --port "${LMTP[stratus]}" --clients 1 \
			--max-messages 20 --rcpts 10 --duration 0 --user-fmt 'lmtp%03u@example.com' \
			--users "$USERS"
	if [ "${STRATUS_IMAP:-0}" = 1 ]; then
		# an LMTP user (no other row reads its mailbox afterwards)
		one() { "$LG" imap-commands --port "${IMAP[stratus]}" --clients 1 --users 1 \
			--user-fmt 'lmtp%03u@example.com' --user-first "$1" --max-rounds 1 \
			--duration 0 --mix "$2" --fixed-msg 2; }
		# a bare LOGIN/SELECT/LOGOUT session is the baseline subtracted
		# below. Cold: restarted, with no local copy of the user's index
		# (metacache) nor of any body (fscache): all from object storage.
		stop_server stratus
		find "$W/stratus/home" -mindepth 2 -maxdepth 2 -name 'lmtp003@example.com' \
			-exec rm -rf {} +
		mv "$W/stratus/fscache" "$W/stratus/fscache.before-cold"	# rm -rf takes long
		start_stratus || true
		delta select_cold_session 1 one 3 ""
		delta select_warm_session 1 one 3 ""
		delta fetch_uncached_session 1 one 3 body=1
		delta fetch_cached_session 1 one 3 body=1
	fi
fi

# -- idle connections --------------------------------------------------------
phase idle
log "idle connections: $IDLE_K per server"
for s in $SERVERS; do
	[ -z "$ONLY" ] || break
	serves "$s" idle || continue
	idle_row "$s"
done
if [ $PROFILE != smoke ] && [ -z "$ONLY" ]; then
	# IDLE needs only a login and an (auto-created) INBOX: no preload
	start_dovecot dovecot-hibernate 'mdbox:~/mdbox' "$HIB"
	idle_row dovecot-hibernate $((HIB + 2))
	stop_server dovecot-hibernate
fi

# -- machine, versions, report ----------------------------------------------
phase report
{
	echo "profile	$PROFILE"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cores	$(nproc)"
	echo "cpu	$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "memory	$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel	$(uname -r)"
	echo "os	$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "dovecot	$(dovecot --version)"
	echo "state_reused	${STATE_REUSED:-0}"
	echo "stratus	${STRATUS_VERSION:-$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) (build $BUILD)}"
	echo "runs	$RUNS"
	echo "duration_s	$DUR"
	echo "duration_sess_hi_s	$DUR_SESS_HI"
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
	echo "bench_sizes	${BENCH_SIZES:-}"
	echo "matrix_runs	$MATRIX_RUNS"
	echo "matrix_dur	$MATRIX_DUR"
	echo "seed	$SEED"
	echo "corpus	$(tr '\n' ';' <"$W/corpus.txt")"
	echo "elapsed_s	$(( $(date +%s) - T0 ))"
	echo "phases_ms	$PHASES"
	echo "loadavg	$LOADAVG_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
} >"$W/meta.tsv"
mkdir -p "$BENCH/results"
OUT=$BENCH/results/latest.md
[ $PROFILE = smoke ] && OUT=$BENCH/results/smoke.md
[ $PROFILE = full ] && OUT=$BENCH/results/full.md
OUT=${BENCH_OUT:-$OUT}
mkdir -p "$(dirname "$OUT")"
python3 "$BENCH/report.py" "$W/meta.tsv" "$RES" >"$OUT"
cp "$RES" "${OUT%.md}.tsv"
log "wrote $OUT"
cat "$OUT"
