#!/usr/bin/env bash
# Tests the built package as a user gets it: `npm pack` of pkg/, installed into a scratch
# project, then publint over the package, `node --test` over tests/js, a strict TypeScript
# example compiled and run, and the type tests (tests/types: mistakes tsc must reject).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=target/js-scratch
rm -rf "$scratch"
mkdir -p "$scratch"
tarball=$(cd pkg && npm pack --silent --pack-destination "$root/$scratch" | tail -n 1)
cp tests/js/*.mjs tests/js/example.ts tests/js/tsconfig.json "$scratch/"
mkdir -p "$scratch/types"
cp tests/types/*.ts tests/types/tsconfig.json "$scratch/types/"
cat > "$scratch/package.json" <<JSON
{ "name": "scratch-user-project", "private": true, "type": "module",
  "dependencies": { "reliable-orchestrator": "file:./$tarball" } }
JSON
cd "$scratch"
npm install --no-audit --no-fund --silent
echo "== tsc --strict over the typed example"
"$root/node_modules/.bin/tsc" -p tsconfig.json
node out/example.js
echo "== tsc --noEmit --strict over the type tests (each @ts-expect-error must be an error)"
"$root/node_modules/.bin/tsc" -p types/tsconfig.json
echo "== publint"
"$root/node_modules/.bin/publint" --strict "$root/pkg"
echo "== node --test"
RO_ROOT="$root" node --expose-gc --test --test-reporter=spec ./*.test.mjs
