#!/bin/sh
# Compiles only the fuzz targets (and what they link) in the clang fuzz
# build: the services themselves are compiled and tested by gcc builds.
set -e
build=$1
targets=$(meson introspect "$build" --targets | python3 -c '
import json, os, sys
build = sys.argv[1]
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz-") and t["type"] == "executable":
        print(os.path.relpath(t["filename"][0], build))' "$build")
[ -n "$targets" ] || { echo "no fuzz targets in $build"; exit 1; }
ninja -C "$build" $targets
