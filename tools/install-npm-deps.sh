#!/bin/sh
# Installs the npm packages the tests use (the SigV4-checking S3 server)
# into tests/node_modules, once.
set -e
cd "$(dirname "$0")/../tests"
[ -f package.json ] || exit 0
[ -d node_modules ] && [ node_modules -nt package.json ] && exit 0
npm install --no-audit --no-fund --silent
touch node_modules
