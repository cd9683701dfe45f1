#!/bin/sh
# Runs every registered test (unit, integration, systemd units) in the
# sanitizer build and the fuzz suite in the fuzz build, then prints one
# closing line: "N passed, N failed, N skipped".
asan=${1:-build-asan}; fuzz=${2:-build-fuzz}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp
passed=0; failed=0; skipped=0
count() {
	# meson's summary: "Ok: N", "Fail: N", "Skipped: N", "Timeout: N" ...
	log=$1
	ok=$(sed -n 's/^Ok: *\([0-9]*\)/\1/p' "$log" | tail -1)
	fail=$(sed -n 's/^Fail: *\([0-9]*\)/\1/p' "$log" | tail -1)
	xpass=$(sed -n 's/^Unexpected Pass: *\([0-9]*\)/\1/p' "$log" | tail -1)
	xfail=$(sed -n 's/^Expected Fail: *\([0-9]*\)/\1/p' "$log" | tail -1)
	skip=$(sed -n 's/^Skipped: *\([0-9]*\)/\1/p' "$log" | tail -1)
	tmo=$(sed -n 's/^Timeout: *\([0-9]*\)/\1/p' "$log" | tail -1)
	if [ -z "$ok$fail" ]; then
		failed=$((failed + 1))	# meson itself failed: count it
		return
	fi
	passed=$((passed + ${ok:-0} + ${xfail:-0}))
	failed=$((failed + ${fail:-0} + ${tmo:-0} + ${xpass:-0}))
	skipped=$((skipped + ${skip:-0}))
}
out=$(mktemp)
meson test -C "$asan" --no-rebuild --print-errorlogs --no-suite fuzz 2>&1 | tee "$out"
count "$out"
if [ -f "$fuzz/build.ninja" ]; then
	meson test -C "$fuzz" --no-rebuild --print-errorlogs --suite fuzz 2>&1 | tee "$out"
	count "$out"
fi
rm -f "$out"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
