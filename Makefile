# The two commands of the quick start: `make demo` and `make test`.
# Each installs what it needs (idempotently) and is fast the second time.

.PHONY: demo test tools pkg

## The main demo: a scripted timeline of plans, retries, breakers, fallbacks,
## idempotent replays and budget stops, on a virtual clock.
demo:
	cargo run --quiet --example demo

## Every test: fmt, clippy, native tests, the npm package build, the bindings in
## Node, headless Chromium and Firefox, and the packed package under node --test.
## The last line is the total.
test: tools
	./scripts/test.sh

## Installs the toolchain pieces, drivers, browsers and npm dev dependencies.
tools:
	./scripts/install-tools.sh

## Builds the npm package into pkg/.
pkg: tools
	./scripts/build-pkg.sh
