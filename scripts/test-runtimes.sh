#!/usr/bin/env bash
# The packed package in Deno and Bun (npm packages `deno`, `bun`) and Node 18 and 22 (npm
# binaries), one run() each (tests/runtimes). Needs pkg/ built.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/npm-ci-if-stale.sh tests/runtimes
./scripts/unpack-pkg.sh tests/runtimes
cd tests/runtimes
node --test --test-reporter=spec runtimes.test.mjs
