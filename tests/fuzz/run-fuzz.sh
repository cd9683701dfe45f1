#!/bin/sh
# Runs one libFuzzer target briefly: the checked-in corpus (hostile inputs
# found earlier, which must not crash again) and then RUNS new inputs.
exe=$(realpath "$1"); corpus=$(realpath -m "$2"); runs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus"
cd "$work" || exit 1
"$exe" -runs="$runs" -max_total_time=60 -max_len=4096 -print_final_stats=0 \
	"$work" "$corpus" > "$work/fuzz.log" 2>&1
rc=$?
tail -n 40 "$work/fuzz.log"
exit $rc
