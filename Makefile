# The two commands of the quick start: `make demo` and `make test`.
# Each installs what it needs (idempotently) and is fast the second time.

SHELL := bash
.SHELLFLAGS := -eo pipefail -c
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown

.PHONY: demo test setup fmt-check clippy test-native build-wasm

## Runs the main demo: a scripted timeline of plans, retries, breakers,
## fallbacks, idempotent replays and budget stops, on a virtual clock.
demo:
	$(CARGO) run --quiet --example demo

## Runs every check: formatting, clippy (-D warnings), the core's wasm32
## build, and the native tests (unit, scenario, property, doc); the last
## line is the total.
test: setup fmt-check clippy build-wasm test-native

## Installs the rustup components and the wasm32 target (no-op when present).
setup:
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

# Runs unit, scenario, property and doc tests, then prints the total.
test-native:
	@mkdir -p target
	{ $(CARGO) test --all-targets && $(CARGO) test --doc; } 2>&1 | tee target/test-output.txt
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "tests: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' target/test-output.txt

build-wasm:
	$(CARGO) build --lib --target $(WASM_TARGET)
