#!/bin/sh
# `make fuzz`: runs every libFuzzer target of a fuzz build (ASan/UBSan)
# for SECONDS each, from its seed corpus in tests/fuzz/corpus/NAME, and
# prints one line per target: seconds run, executions, new corpus units,
# crashes. A crash leaves its input in tests/fuzz/crashes/NAME/ (to be
# turned into a regression case in the corpus) and fails the run.
# usage: fuzz-all.sh BUILD SECONDS
build=$1; secs=${2:-60}
src=$(cd "$(dirname "$0")" && pwd)
status=0
printf '%-26s %8s %12s %8s %8s\n' target seconds execs new crashes
for exe in $(find "$build" -maxdepth 3 -type f -name 'fuzz-*' -perm -u+x | sort); do
	name=$(basename "$exe")
	corpus="$src/corpus/$name"
	crashes="$src/crashes/$name"
	work=$(mktemp -d)
	mkdir -p "$corpus" "$crashes"
	start=$(date +%s)
	(cd "$work" && nice -n 10 "$exe" -max_total_time="$secs" -max_len=4096 \
		-timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" "$corpus" > "$work/log" 2>&1)
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	new=$(find "$work" -maxdepth 1 -type f ! -name log | wc -l)
	n=$(find "$crashes" -type f | wc -l)
	printf '%-26s %8d %12s %8d %8d\n' "$name" $((end - start)) "${execs:-?}" "$new" "$n"
	if [ $rc -ne 0 ]; then
		status=1
		grep -A30 -m1 'ERROR:\|runtime error\|deadly signal' "$work/log" | head -40
	fi
	rm -rf "$work"
	[ -n "$(ls -A "$crashes")" ] || rmdir "$crashes"
done
rmdir "$src/crashes" 2>/dev/null
exit $status
