#!/usr/bin/env bash
# The worker example in workerd (Miniflare): installs its npm dependencies (the package from
# pkg/, which must be built, plus miniflare, esbuild, typescript), type-checks and bundles it,
# then runs its node --test suite against the mock provider.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/npm-ci-if-stale.sh worker-example
cd worker-example
npm test
