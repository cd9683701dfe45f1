#!/bin/sh
# Developer helper: builds the committed HEAD plus your own uncommitted
# paths in /tmp/stratus-NAME, so that other engineers' unfinished files in
# a shared working tree cannot break your build.
#   tools/private-build.sh NAME [PATH...]     e.g. tools/private-build.sh imap svc-imap tests/integration/test_imap.py
# Then: meson test -C /tmp/stratus-NAME/build --print-errorlogs [TEST...]
# (the sanitizer build; a plain -O2 build in /tmp/stratus-NAME/plain is
# compiled as well, since `make run` uses one).
set -e
name=${1:?usage: tools/private-build.sh NAME [PATH...]}; shift
top=$(git rev-parse --show-toplevel)
dir=/tmp/stratus-$name
src=$dir/src; build=$dir/build; stage=$dir/stage
rm -rf "$stage"; mkdir -p "$stage" "$src"
git -C "$top" archive HEAD | tar -x -C "$stage"
for p in "$@"; do
	(cd "$top" && find "$p" -type f ! -path '*/node_modules/*') | while read -r f; do
		mkdir -p "$stage/$(dirname "$f")"
		cp -p "$top/$f" "$stage/$f"
	done
done
# Unchanged files keep their timestamps, so rebuilds stay incremental.
rsync -a --delete --checksum --exclude node_modules "$stage/" "$src/"
rm -rf "$stage"
[ -d "$top/tests/node_modules" ] && ln -sfn "$top/tests/node_modules" "$src/tests/node_modules"
[ -f "$build/build.ninja" ] || meson setup "$build" "$src" -Db_sanitize=address,undefined >/dev/null
meson compile -C "$build"
# gcc -O2 without sanitizers warns differently (use-after-free,
# maybe-uninitialized); `make run` uses that build, so compile it too.
[ -f "$dir/plain/build.ninja" ] || meson setup "$dir/plain" "$src" >/dev/null
meson compile -C "$dir/plain" >/dev/null || meson compile -C "$dir/plain"
