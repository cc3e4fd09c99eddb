#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm (size-optimised), wasm-bindgen glue
# (--target web, loaded by per-environment entries), wasm-opt -Oz, and the TypeScript
# wrapper with its .d.ts. Expects `make tools` to have installed the toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --lib --release --target wasm32-unknown-unknown
rm -rf js/generated pkg
mkdir -p js/generated pkg/generated
wasm-bindgen --target web --out-dir js/generated --out-name reliable_orchestrator \
  target/wasm32-unknown-unknown/release/reliable_orchestrator.wasm
# Not stripped: wasm-opt rejects stripped modules. Features are those rustc enables by default.
node_modules/.bin/wasm-opt -Oz \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  js/generated/reliable_orchestrator_bg.wasm -o js/generated/reliable_orchestrator_bg.wasm
node_modules/.bin/tsc -p js
cp js/generated/reliable_orchestrator.js js/generated/reliable_orchestrator.d.ts \
   js/generated/reliable_orchestrator_bg.wasm js/generated/reliable_orchestrator_bg.wasm.d.ts pkg/generated/
cp pkg-template/package.json pkg-template/README.md pkg/
# The .wasm import of the workerd entry needs a declaration for TypeScript users.
raw=$(stat -c %s pkg/generated/reliable_orchestrator_bg.wasm)
gz=$(gzip -9 -c pkg/generated/reliable_orchestrator_bg.wasm | wc -c)
echo "pkg/ built: wasm ${raw} bytes raw, ${gz} bytes gzip"
