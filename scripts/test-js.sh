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
cp tests/js/*.mjs tests/js/example.ts tests/js/adapters-types.ts tests/js/tsconfig.json "$scratch/"
mkdir -p "$scratch/types"
cp tests/types/*.ts tests/types/tsconfig.json "$scratch/types/"
# The SDKs the tests use as a user would (sdk.test.mjs, adapters.test.mjs), at the exact
# versions the root package.json pins (so npm's cache from the root install serves them).
sdk_deps=$(node -e '
  const dev = require("./package.json").devDependencies;
  const names = ["openai", "@anthropic-ai/sdk", "ai", "@ai-sdk/openai", "@ai-sdk/anthropic",
                 "@opentelemetry/api", "@opentelemetry/sdk-trace-base"];
  process.stdout.write(names.map((n) => `, ${JSON.stringify(n)}: ${JSON.stringify(dev[n])}`).join(""));')
cat > "$scratch/package.json" <<JSON
{ "name": "scratch-user-project", "private": true, "type": "module",
  "dependencies": { "reliable-orchestrator": "file:./$tarball"$sdk_deps } }
JSON
cd "$scratch"
npm install --no-audit --no-fund --silent
echo "== tsc --strict over the typed example"
"$root/node_modules/.bin/tsc" -p tsconfig.json
node out/example.js
echo "== tsc --strict: the adapters against the ai, @ai-sdk and @opentelemetry/api types"
"$root/node_modules/.bin/tsc" --noEmit --strict --target ES2022 --module NodeNext --moduleResolution NodeNext \
  --lib ES2022,DOM --types node --skipLibCheck adapters-types.ts
echo "== tsc --noEmit --strict over the type tests (each @ts-expect-error must be an error)"
"$root/node_modules/.bin/tsc" -p types/tsconfig.json
echo "== publint"
"$root/node_modules/.bin/publint" --strict "$root/pkg"
echo "== node --test"
RO_ROOT="$root" node --expose-gc --test --test-reporter=spec ./*.test.mjs
