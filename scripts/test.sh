#!/usr/bin/env bash
# Every test, in order: fmt, clippy (native and wasm32), native tests, the package build,
# the bindings in Node, headless Chromium and Firefox (wasm-pack), the packed package
# under node --test (with a strict TypeScript example and an IndexedDB test in Chromium),
# the package through esbuild, Rollup, Vite and webpack (bundles run in Chromium), in Deno,
# Bun and Node 18/22, and the worker example in workerd (Miniflare).
#
# Every stage runs even when an earlier one failed, so the total is honest. The last line is
# "tests: N passed, M failed"; M counts failed tests plus stages that failed without a test
# count of their own (fmt, clippy, the build), and an engine suite that ran no test at all.
# The exit status is non-zero exactly when M > 0.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# One seed for every randomized test (proptest, fast-check, the simulation): fixed by default,
# so every run is the same; `RO_SEED=<n> make test` replays a printed seed or soaks with others.
export RO_SEED=${RO_SEED:-20261201}
log=target/test-logs
rm -rf "$log"
mkdir -p "$log"
echo "randomized tests seeded with RO_SEED=$RO_SEED; logs in $log/"

failed_stages=()
stage() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@" >"$log/$name.txt" 2>&1; then
    tail -n 40 "$log/$name.txt"
    echo "!! stage $name failed: see $log/$name.txt" >&2
    failed_stages+=("$name")
  else
    tail -n 3 "$log/$name.txt"
  fi
}

# The mock LLM provider the engine and package tests call over real fetch (127.0.0.1 only).
node mock-provider/server.mjs --idle-ms 900000 >"$log/mock.txt" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  grep -q listening "$log/mock.txt" && break
  kill -0 "$mock_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q listening "$log/mock.txt"; then
  echo "the mock provider did not start within 30 s; its output ($log/mock.txt):" >&2
  cat "$log/mock.txt" >&2
  echo "tests: 0 passed, 1 failed"
  exit 1
fi
RO_MOCK_URL=$(node -e 'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").find((x) => x.includes("listening")); console.log(JSON.parse(l).url)' "$log/mock.txt")
export RO_MOCK_URL
echo "mock provider at $RO_MOCK_URL"

stage fmt cargo fmt --all -- --check
stage clippy cargo clippy --all-targets -- -D warnings
stage clippy-wasm cargo clippy --lib --tests --target wasm32-unknown-unknown -- -D warnings
stage native cargo test --all-targets --no-fail-fast
stage doc cargo test --doc
stage pkg ./scripts/build-pkg.sh
# The test runner gives a WebDriver 5 s to bind its port and a test suite 20 s by default: on
# a busy 2-core machine chromedriver once took longer to start (SIGKILLed, "driver failed to
# bind port"). Generous limits: a broken driver still fails, a slow one does not.
export WASM_BINDGEN_TEST_DRIVER_TIMEOUT=${WASM_BINDGEN_TEST_DRIVER_TIMEOUT:-90}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}
stage wasm-node wasm-pack test --node -- --test node
stage wasm-chrome wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" -- --test web
stage wasm-firefox wasm-pack test --headless --firefox --geckodriver "$(command -v geckodriver)" -- --test web
stage js ./scripts/test-js.sh
stage bundlers ./scripts/test-bundlers.sh
stage runtimes ./scripts/test-runtimes.sh
stage worker ./scripts/test-worker.sh

count() { # file -> "passed failed"
  awk '/^test result:/ { p += $4; f += $6 } /^ℹ pass / { p += $3 } /^ℹ fail / { f += $3 } END { print p + 0, f + 0 }' "$1"
}
total_pass=0
total_fail=0
for suite in native doc wasm-node wasm-chrome wasm-firefox js bundlers runtimes worker; do
  read -r passed failed < <(count "$log/$suite.txt")
  echo "$suite: $passed passed, $failed failed"
  if [ "$passed" -eq 0 ] && [ "$suite" != doc ]; then
    echo "!! suite $suite ran no test: see $log/$suite.txt" >&2
    failed=$((failed + 1))
  fi
  total_pass=$((total_pass + passed))
  total_fail=$((total_fail + failed))
done
# A stage that failed without reporting a failed test (a build or lint error, a crash) still
# counts once, so the total can never read "0 failed" for a red run.
for name in "${failed_stages[@]}"; do
  read -r _ failed < <(count "$log/$name.txt")
  if [ "$failed" -eq 0 ]; then
    total_fail=$((total_fail + 1))
  fi
done
grep -h "pkg/ built" "$log/pkg.txt" || true
if [ ${#failed_stages[@]} -gt 0 ]; then
  echo "failed stages: ${failed_stages[*]} (logs in $log/)"
fi
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
