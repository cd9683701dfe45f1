#!/bin/sh
# Verifies every unit in systemd/ with systemd-analyze (works without
# systemd as PID 1). verify checks that ExecStart exists, so the units are
# copied with ExecStart pointing at the built binaries.
set -e
src=$1; build=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in "$src"/systemd/*; do
	name=$(basename "$unit")
	svc=$(sed -n 's|^ExecStart=/usr/libexec/stratus/stratus-\([a-z0-9]*\) .*|\1|p' "$unit")
	if grep -q '^ExecStart=/usr/bin/stratusctl ' "$unit"; then
		sed "s|^ExecStart=/usr/bin/stratusctl|ExecStart=$build/svc-ctl/stratusctl|" \
			"$unit" > "$tmp/$name"
	elif [ -n "$svc" ]; then
		sed "s|^ExecStart=/usr/libexec/stratus/stratus-$svc|ExecStart=$build/svc-$svc/stratus-$svc|" \
			"$unit" > "$tmp/$name"
	else
		cp "$unit" "$tmp/$name"
	fi
done
out=$(cd "$tmp" && systemd-analyze verify --man=no ./*.socket ./*.service ./*.target 2>&1) || {
	echo "$out"; exit 1; }
# verify only warns about some mistakes: treat any output as a failure.
if [ -n "$out" ]; then echo "$out"; exit 1; fi
for s in "$tmp"/stratus-*.service; do
	# Per-connection script instances (Accept=yes templates) never notify.
	case "$s" in *@.service) ;; *)
	grep -q '^Type=notify$' "$s" || { echo "$s: not Type=notify"; exit 1; } ;;
	esac
	grep -q '^ProtectSystem=strict$' "$s" || { echo "$s: not hardened"; exit 1; }
done
echo "verified $(ls "$tmp" | wc -l) units"
