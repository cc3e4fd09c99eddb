#!/usr/bin/env bash
# `npm ci` in DIR (default: the repository root) unless its node_modules already matches its
# package-lock.json: fast when nothing changed, a clean install when the lock did.
set -euo pipefail
dir=${1:-$(dirname "$0")/..}
cd "$dir"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
