#!/bin/sh
# make deb-test: lintian over what `make deb` built (the .changes names
# every .deb and the .buildinfo). Fails on any error or warning; the
# info and pedantic tags are printed. Overrides live in
# debian/PACKAGE.lintian-overrides, each with the reason it is right for
# this project.
set -eu
deb_dir=$1
changes=$(ls "$deb_dir"/*.changes)
out=$(mktemp /var/tmp/stratus-lintian.XXXXXX)
trap 'rm -f "$out"' EXIT
status=0
nice -n 10 lintian --info --pedantic --fail-on error,warning "$changes" \
	>"$out" 2>&1 || status=$?
grep -v '^running with root privileges' "$out" || true
errors=$(grep -c '^[EW]: ' "$out" || true)
if [ "$status" -ne 0 ]; then
	echo "deb-lintian: FAIL ($errors errors/warnings, lintian exit $status)"
	exit 1
fi
echo "deb-lintian: ok (no error or warning)"
