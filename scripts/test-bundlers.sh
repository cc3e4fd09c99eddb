#!/usr/bin/env bash
# The packed package through esbuild, Rollup, Vite and webpack (web and webworker), each
# bundle run in headless Chromium (tests/bundlers). Needs pkg/ built and Chromium installed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/npm-ci-if-stale.sh tests/bundlers
./scripts/unpack-pkg.sh tests/bundlers
cd tests/bundlers
node --test --test-reporter=spec bundlers.test.mjs
