#!/usr/bin/env bash
# The worker example in workerd (Miniflare): installs its npm dependencies (the package from
# pkg/, which must be built, plus miniflare, esbuild, typescript), type-checks and bundles it,
# then runs its node --test suite against the mock provider.
set -euo pipefail
cd "$(dirname "$0")/../worker-example"
if [ ! -d node_modules/miniflare ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
npm test
