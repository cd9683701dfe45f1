#!/bin/sh
# Runs every registered test (unit, integration, systemd units) in the
# sanitizer build and the fuzz suite in the fuzz build, then prints one
# closing line counting every test case that ran:
# "N passed, N failed, N skipped".
asan=${1:-build-asan}; fuzz=${2:-build-fuzz}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp
status=0
logs=""
rm -f "$asan/meson-logs/testlog.json" "$fuzz/meson-logs/testlog.json"
meson test -C "$asan" --no-rebuild --print-errorlogs --no-suite fuzz || status=1
logs="$asan/meson-logs/testlog.json"
if [ -f "$fuzz/build.ninja" ]; then
	meson test -C "$fuzz" --no-rebuild --print-errorlogs --suite fuzz || status=1
	logs="$logs $fuzz/meson-logs/testlog.json"
fi
python3 tests/count-tests.py $logs || status=1
exit $status
