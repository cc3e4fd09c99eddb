#!/usr/bin/env bash
# The benchmarks: builds the package and the worker example, installs the bench's npm
# dependencies (cockatiel, tinybench, miniflare), then prints one table (also written to
# bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/build-pkg.sh >/dev/null
for dir in worker-example bench; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
done
cd bench
node --expose-gc run.mjs
