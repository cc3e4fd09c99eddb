#!/usr/bin/env bash
# Installs the built package (pkg/, via `npm pack`) as DIR/node_modules/reliable-orchestrator,
# exactly the files a user gets from the registry, without touching DIR's lock.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
tmp=$(mktemp -d)
tarball=$(cd pkg && npm pack --silent --pack-destination "$tmp" | tail -n 1)
rm -rf "$dir/node_modules/reliable-orchestrator"
mkdir -p "$dir/node_modules/reliable-orchestrator"
tar -xzf "$tmp/$tarball" -C "$dir/node_modules/reliable-orchestrator" --strip-components=1
rm -rf "$tmp"
