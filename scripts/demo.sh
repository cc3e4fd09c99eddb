#!/usr/bin/env bash
# The main demo: builds the package if its sources changed, installs the worker example's npm
# dependencies, then runs the mock provider and the Worker in workerd through a scripted
# scenario, printing the orchestrator's timeline. Ends by itself.
# `--monitor` serves the monitor page instead; `--browser` the browser example.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm=pkg/generated/reliable_orchestrator_bg.wasm
if [ ! -f "$wasm" ] || [ -n "$(find src js pkg-template Cargo.toml Cargo.lock -newer "$wasm" -type f -print -quit)" ]; then
  ./scripts/build-pkg.sh >/dev/null
fi
if [ "${1:-}" = --browser ]; then
  exec node examples/browser/serve.mjs
fi
./scripts/npm-ci-if-stale.sh worker-example
cd worker-example
npm run --silent build
if [ "${1:-}" = --monitor ]; then
  exec node monitor.mjs
fi
node demo.mjs
