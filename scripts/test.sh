#!/usr/bin/env bash
# Every test, in order: fmt, clippy (native and wasm32), native tests, the package build,
# the bindings in Node, headless Chromium and Firefox (wasm-pack), the packed package
# under node --test (with a strict TypeScript example and an IndexedDB test in Chromium),
# and the worker example in workerd (Miniflare).
# Ends with one line: "tests: N passed, M failed". Every engine suite must pass > 0 tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log=target/test-logs
rm -rf "$log"
mkdir -p "$log"

stage() {
  local name=$1
  shift
  echo "== $name"
  "$@" 2>&1 | tee "$log/$name.txt"
}

# The mock LLM provider the engine and package tests call over real fetch (127.0.0.1 only).
node mock-provider/server.mjs --idle-ms 900000 >"$log/mock.txt" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$log/mock.txt" && break; sleep 0.1; done
RO_MOCK_URL=$(node -e 'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]; console.log(JSON.parse(l).url)' "$log/mock.txt")
export RO_MOCK_URL
echo "mock provider at $RO_MOCK_URL"

stage fmt cargo fmt --all -- --check
stage clippy cargo clippy --all-targets -- -D warnings
stage clippy-wasm cargo clippy --lib --tests --target wasm32-unknown-unknown -- -D warnings
stage native cargo test --all-targets
stage doc cargo test --doc
stage pkg ./scripts/build-pkg.sh
stage wasm-node wasm-pack test --node -- --test node
stage wasm-chrome wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" -- --test web
stage wasm-firefox wasm-pack test --headless --firefox --geckodriver "$(command -v geckodriver)" -- --test web
stage js ./scripts/test-js.sh
stage worker ./scripts/test-worker.sh

count() { # file -> "passed failed"
  awk '/^test result:/ { p += $4; f += $6 } /^ℹ pass / { p += $3 } /^ℹ fail / { f += $3 } END { print p + 0, f + 0 }' "$1"
}
total_pass=0
total_fail=0
for suite in native doc wasm-node wasm-chrome wasm-firefox js worker; do
  read -r passed failed < <(count "$log/$suite.txt")
  echo "$suite: $passed passed, $failed failed"
  if [ "$passed" -eq 0 ] && [ "$suite" != doc ]; then
    echo "suite $suite ran no test" >&2
    exit 1
  fi
  total_pass=$((total_pass + passed))
  total_fail=$((total_fail + failed))
done
grep -h "pkg/ built" "$log/pkg.txt" || true
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
