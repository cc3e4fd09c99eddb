# The two commands of the quick start: `make demo` and `make test`.
# Each installs what it needs (idempotently) and is fast the second time.

.PHONY: demo demo-virtual test tools build-tools pkg bench monitor browser-example

## The main demo: the mock LLM provider and the example Worker in workerd, driven
## through a scripted scenario; prints the timeline (tools, retries and delays,
## breaker transitions, replays, conflicts, budget stops). Ends by itself.
demo: build-tools
	./scripts/demo.sh

## The same story on a virtual clock, in the pure Rust core (no JS at all).
demo-virtual:
	cargo run --quiet --example demo

## Every test: fmt, clippy, native tests, the npm package build, the bindings in
## Node, headless Chromium and Firefox, the packed package under node --test, and
## the worker example in workerd.
## The last line is the total.
test: tools
	./scripts/test.sh

## Installs the toolchain pieces, drivers, browsers and npm dev dependencies.
tools:
	./scripts/install-tools.sh

## Installs only what building the package needs.
build-tools:
	./scripts/install-tools.sh build

## Builds the npm package into pkg/.
pkg: build-tools
	./scripts/build-pkg.sh

## The benchmarks: one table (overhead vs cockatiel, scenarios on the
## mock provider, workerd throughput, planning scale, size, instantiate, timers, memory).
bench: build-tools
	./scripts/bench.sh

## The monitor page (breakers, live runs, fault buttons) on the example Worker in workerd,
## next to the mock provider; prints its URL, runs until Ctrl-C (30 min at most).
monitor: build-tools
	./scripts/demo.sh --monitor

## The browser example: the orchestrator inside a plain page with IndexedDB, against the mock
## provider; prints its URL, runs until Ctrl-C (30 min at most).
browser-example: build-tools
	./scripts/demo.sh --browser
