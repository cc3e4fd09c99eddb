#!/usr/bin/env bash
# Installs everything the build and tests need, idempotently (fast when all is present):
# rustup pieces, wasm-pack, wasm-bindgen-cli (exactly the crate's version), geckodriver,
# Debian's Chromium + ChromeDriver and Firefox ESR, and the npm dev dependencies.
# `install-tools.sh build` installs only what building the package needs (for `make demo`).
set -euo pipefail
mode=${1:-all}
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

have() { command -v "$1" >/dev/null 2>&1; }

rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -qx 'wasm32-unknown-unknown' || rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen crate exactly; it is pinned with `=` in Cargo.toml.
bindgen_version=$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  cargo install wasm-bindgen-cli --version "=$bindgen_version" --force
fi
./scripts/npm-ci-if-stale.sh
[ "$mode" = build ] && exit 0

have wasm-pack || cargo install wasm-pack --locked
have geckodriver || cargo install geckodriver --locked

missing=()
have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)
have firefox-esr || have firefox || missing+=(firefox-esr)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
