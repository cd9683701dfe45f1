#!/bin/bash
# bench/index/upload.sh: the cost of bundle uploads as a user grows.
# For each SIZE (default "1000 10000") one user is filled to SIZE
# messages (Append calls of 100), then N (default 500) single-message
# Appends are sent one at a time (what LMTP does for one recipient),
# twice: with uploads on (metacache_delay_uploads = yes and
# obox_max_rescan_mail_count = 10, an upload every 10 saved mails) and
# with uploads off (count 0, interval 1h). Reported per size: appends/s
# with and without uploads, uploads made, the cost of one upload =
# (time with - time without) / uploads (svc-index's encoding plus
# svc-blob's write, on the same cores), and svc-index's own encoding
# time per upload from its bundle_encode_us status counter (builds
# without that counter print n/a).
#   UPLOADBENCH_BUILD  meson build folder (default: build; use a plain
#                      -O2 build for figures). Output: a Markdown table
#                      on stdout. Every process started is stopped by PID.
set -euo pipefail
SIZES=${SIZES:-"1000 10000"}
N=${N:-500}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${UPLOADBENCH_BUILD:-$ROOT/build}" && pwd)
CTL=$BUILD/svc-ctl/stratusctl
IB=$BUILD/bench/index/index-bench
W=$(mktemp -d /tmp/stratus-uploadbench.XXXXXX)
PID=""
stop() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null || true
	for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=""
}
trap 'stop; [ "${UPLOADBENCH_KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

start() {	# $1 = obox_max_rescan_mail_count
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	local d=$W/$1
	mkdir -p "$d"
	: >"$d/users"
	for s in $SIZES; do echo "u$s@example.com:{PLAIN}pass::::::" >>"$d/users"; done
	cat >"$d/stratus.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
ssl = no
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
  obox_fs = posix:prefix=$d/objects/
  obox_index_fs = posix:prefix=$d/objects/
  metacache_delay_uploads = yes
  metacache_upload_interval = 1h
  obox_max_rescan_mail_count = $1
  metacache_max_space = 10G
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
}
CONF
	"$CTL" -c "$d/stratus.conf" run >"$d/stratus.log" 2>&1 &
	PID=$!
	for i in $(seq 1 300); do
		grep -Eqs "all [0-9]+ services ready" "$d/stratus.log" && return 0
		sleep 0.1
	done
	echo "Stratus did not start" >&2; cat "$d/stratus.log" >&2; exit 1
}
counter() { "$CTL" -c "$W/$1/stratus.conf" status index | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# $1 = rescan count; prints "size seconds uploads" per size
run() {
	start "$1"
	for s in $SIZES; do
		ib=("$IB" --socket "$W/$1/run/stratus-index" --user "u$s@example.com" --mailbox INBOX)
		"${ib[@]}" append --count "$s" --batch 100 --inflight 1 >/dev/null
		sleep 1	# let the last fill upload finish
		u0=$(counter "$1" bundle_uploads)
		e0=$(counter "$1" bundle_encode_us)
		t0=$(date +%s.%N)
		"${ib[@]}" append --count "$N" --batch 1 --inflight 1 --first "$s" >/dev/null
		t1=$(date +%s.%N)
		u1=$(counter "$1" bundle_uploads)
		e1=$(counter "$1" bundle_encode_us)
		enc=n/a
		[ -n "$e0" ] && [ "$u1" -gt "$u0" ] &&
			enc=$(echo "scale=2; ($e1 - $e0) / 1000 / ($u1 - $u0)" | bc)
		echo "$s $(echo "$t1 - $t0" | bc) $((u1 - u0)) $enc"
	done
	stop
}
run 10 >"$W/on"
run 0 >"$W/off"
echo "| messages in INBOX | appends/s, uploads every 10 | appends/s, no uploads | uploads | ms per upload (time with - without) | ms encoding per upload (bundle_encode_us) |"
echo "|---:|---:|---:|---:|---:|---:|"
join "$W/on" "$W/off" | while read -r s ton up enc toff _; do
	awk -v s="$s" -v n="$N" -v ton="$ton" -v toff="$toff" -v up="$up" \
	    -v enc="$enc" 'BEGIN {
		per = 0
		if (up > 0) per = (ton - toff) * 1000 / up
		printf "| %d | %.0f | %.0f | %d | %.2f | %s |\n", s, n / ton, n / toff, up, per, enc }'
done
