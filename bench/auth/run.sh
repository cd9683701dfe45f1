#!/bin/bash
# bench/auth/run.sh [--quick|--smoke]: logins per second through svc-auth
# with the LDAP passdb (cache cold and warm) and with passwd-file, and
# the LDAP searches and binds each login costs; writes
# bench/auth/results.md (--smoke writes only to the temp folder).
#
# It starts one throwaway slapd (tests/integration/slapd_harness.py's
# schema and the spec's dovecot-ldap.conf.ext, users user1..userN with
# {SSHA} passwords, `-d stats` so SRCH and BIND lines can be counted) and
# three Stratus service sets (`stratusctl run`): LDAP passdb + prefetch
# userdb with auth_cache_size = 0, the same with 10M, and passwd-file.
# Runs alternate between the three; each row is the median of the runs.
#
# Everything runs in a mktemp folder on 127.0.0.1; every process started
# here is stopped by PID on exit; every wait is bounded.
#   AUTHBENCH_BUILD   meson build folder with the services and
#                     bench/auth/auth-bench (default: build). Use a build
#                     without sanitizers for figures worth quoting.
#   AUTHBENCH_KEEP=1  keep the temp folder.
set -euo pipefail

PROFILE=quick
case "${1:-}" in
	--quick|"") PROFILE=quick ;;
	--smoke) PROFILE=smoke ;;
	*) echo "usage: $0 [--quick|--smoke]" >&2; exit 2 ;;
esac
case $PROFILE in
quick) USERS=1000 LOGINS_COLD=20000 LOGINS_FAST=100000 RUNS=3 ;;
smoke) USERS=20 LOGINS_COLD=200 LOGINS_FAST=200 RUNS=1 ;;
esac
CONC=32 CONNS=4 BAD_EVERY=10

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/auth
BUILD=$(cd "${AUTHBENCH_BUILD:-$ROOT/build}" && pwd)
CTL=$BUILD/svc-ctl/stratusctl
AB=$BUILD/bench/auth/auth-bench
for f in "$CTL" "$AB" "$BUILD/svc-auth/stratus-auth"; do
	[ -x "$f" ] || { echo "missing $f (build first)" >&2; exit 1; }
done
for p in slapd slapadd ldapsearch python3; do
	command -v $p >/dev/null || { echo "needs $p (recipes.md section 1)" >&2; exit 1; }
done

T0=$(date +%s)
log() { printf '[auth-bench %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

W=$(mktemp -d /tmp/stratus-authbench.XXXXXX)
chmod 755 "$W"
PIDS=""
cleanup() {
	set +e
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	if [ "${AUTHBENCH_KEEP:-0}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -- slapd and the three configurations -------------------------------------
log "writing slapd database ($USERS users) and configurations in $W"
STRATUS_BUILD_DIR=$BUILD python3 "$HERE/authbench.py" setup "$W" "$USERS" >"$W/vars.sh"
. "$W/vars.sh"

LDAPNOINIT=1 slapd -f "$SLAPD_CONF" -h "$SLAPD_URI/" -d stats >"$SLAPD_LOG" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 200); do
	LDAPNOINIT=1 ldapsearch -x -H "$SLAPD_URI" -b "" -s base -LLL namingContexts \
		>/dev/null 2>&1 && break
	[ "$i" = 200 ] && { echo "slapd did not start" >&2; cat "$SLAPD_LOG" >&2; exit 1; }
	sleep 0.05
done
log "slapd on $SLAPD_URI"

SETS="LDAP_COLD LDAP_WARM PASSWD_FILE"
for s in $SETS; do
	conf=CONF_$s logf=LOG_$s
	"$CTL" -c "${!conf}" run >"${!logf}" 2>&1 &
	PIDS="$PIDS $!"
done
for s in $SETS; do
	logf=LOG_$s
	for i in $(seq 1 300); do
		grep -Eq "all [0-9]+ services ready" "${!logf}" && break
		[ "$i" = 300 ] && { echo "Stratus ($s) did not start" >&2; cat "${!logf}" >&2; exit 1; }
		sleep 0.1
	done
done
log "three Stratus service sets ready"

# -- one measured run -------------------------------------------------------
slapd_ops() { sleep 0.3; python3 "$HERE/authbench.py" ops "$SLAPD_LOG"; }
svc_counters() {	# svc_counters SET -> "ldap_searches=.. ldap_binds=.. cache_hits=.."
	local conf=CONF_$1
	python3 "$HERE/authbench.py" counters "$("$CTL" -c "${!conf}" status auth)"
}
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

# bench SET LABEL RUN ARGS... : appends one row to $W/runs.tsv
bench() {
	local set=$1 label=$2 run=$3; shift 3
	local sock=SOCK_$set out="$W/$label.$run.out"
	local o0 c0 o1 c1 line
	o0=$(slapd_ops); c0=$(svc_counters "$set")
	if ! timeout 600 "$AB" --socket "${!sock}" "$@" --label "$label" \
		>"$out" 2>"$W/$label.$run.err"; then
		cat "$out" "$W/$label.$run.err" >&2
		echo "auth-bench $label run $run reported wrong answers" >&2
		exit 1
	fi
	o1=$(slapd_ops); c1=$(svc_counters "$set")
	line=$(cat "$out")
	local n; n=$(echo "$line" | field logins)
	[ $(( $(echo "$line" | field ok) + $(echo "$line" | field rejected) )) = "$n" ] ||
		{ echo "incomplete run: $line" >&2; exit 1; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$label" "$run" "$n" \
		"$(echo "$line" | field ok)" "$(echo "$line" | field rejected)" \
		"$(echo "$line" | field errors)" "$(echo "$line" | field seconds)" \
		"$(echo "$line" | field logins_per_s)" "$(echo "$line" | field p50_ms)" \
		"$(echo "$line" | field p99_ms)" \
		$(( $(echo "$o1" | cut -d' ' -f1) - $(echo "$o0" | cut -d' ' -f1) )) \
		$(( $(echo "$o1" | cut -d' ' -f2) - $(echo "$o0" | cut -d' ' -f2) )) \
		$(( $(echo "$c1" | field ldap_searches) - $(echo "$c0" | field ldap_searches) )) \
		$(( $(echo "$c1" | field ldap_binds) - $(echo "$c0" | field ldap_binds) )) \
		$(( $(echo "$c1" | field cache_hits) - $(echo "$c0" | field cache_hits) )) \
		>>"$W/runs.tsv"
	log "$label run $run: $line"
}

COMMON_ARGS=(--concurrency "$CONC" --connections "$CONNS"
	--users "$USERS" --bad-every "$BAD_EVERY" --pass-fmt 'pass%u')
LDAP_ARGS=(--user-fmt 'User%u@Example.COM' --expect-fmt 'user%u@example.com')
PW_ARGS=(--user-fmt 'user%u@example.com')

# Warm the 10M cache: every user once with the right password.
log "warming the LDAP cache ($USERS logins)"
timeout 600 "$AB" --socket "$SOCK_LDAP_WARM" --logins "$USERS" --users "$USERS" \
	--concurrency "$CONC" --connections "$CONNS" --bad-every 0 \
	"${LDAP_ARGS[@]}" --label warmup >"$W/warmup.out" ||
	{ cat "$W/warmup.out" >&2; exit 1; }

printf 'scenario\trun\tlogins\tok\trejected\terrors\tseconds\trate\tp50_ms\tp99_ms\tsrch\tbind\tsvc_searches\tsvc_binds\tcache_hits\n' >"$W/runs.tsv"
for run in $(seq 1 "$RUNS"); do
	bench LDAP_COLD ldap-cold "$run" --logins "$LOGINS_COLD" "${COMMON_ARGS[@]}" "${LDAP_ARGS[@]}"
	bench LDAP_WARM ldap-warm "$run" --logins "$LOGINS_FAST" "${COMMON_ARGS[@]}" "${LDAP_ARGS[@]}"
	bench PASSWD_FILE passwd-file "$run" --logins "$LOGINS_FAST" "${COMMON_ARGS[@]}" "${PW_ARGS[@]}"
done

# -- report -----------------------------------------------------------------
OUT=$HERE/results.md
[ $PROFILE = smoke ] && OUT=$W/results.md
python3 "$HERE/authbench.py" report "$W/runs.tsv" "$OUT" \
	date="$(date -u '+%Y-%m-%d %H:%M UTC')" \
	commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	runs="$RUNS" users="$USERS" logins_cold="$LOGINS_COLD" \
	logins_fast="$LOGINS_FAST" concurrency="$CONC" \
	connections="$CONNS" bad_every="$BAD_EVERY" build="$BUILD" \
	slapd_version="$(dpkg-query -W -f '${Version}' slapd 2>/dev/null || echo '?')" \
	nproc="$(nproc)" \
	cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	mem="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" \
	load_start="$LOAD_START" load_end="$(cut -d' ' -f1-3 /proc/loadavg)" \
	kernel="$(uname -r)"
cp "$W/runs.tsv" "${OUT%.md}.tsv"
log "wrote $OUT"
cat "$OUT"
