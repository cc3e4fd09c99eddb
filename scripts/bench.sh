#!/usr/bin/env bash
# The benchmarks: builds the package and the worker example, installs the bench's npm
# dependencies (cockatiel, tinybench, miniflare), then prints one table (also written to
# bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/build-pkg.sh >/dev/null
./scripts/npm-ci-if-stale.sh worker-example
./scripts/npm-ci-if-stale.sh bench
cd bench
node --expose-gc run.mjs
