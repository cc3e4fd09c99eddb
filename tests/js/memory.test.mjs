// Strings from user data are never cached: a cache keeps every string it is given for the
// instance's life, so caching an output's keys (read when a keyed result is recorded) or the
// options' keys grew wasm memory without bound (14.5 MB over 120,000 runs with keys of their
// own, when wasm-bindgen's intern cache held them). Only the crate's own names and rule path
// segments are cached (src/wasm/names.rs, the latter at most 4,096).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator } from "reliable-orchestrator";

const glue = new URL("./generated/reliable_orchestrator.js", import.meta.resolve("reliable-orchestrator"));
const { initSync } = await import(glue.href);
// The package has loaded the module already: initSync answers its exports, memory included.
const wasmMemory = () => initSync({ module: new Uint8Array() }).memory.buffer.byteLength;

test("outputs and options with keys of their own leave wasm memory where it was", async () => {
  let n = 0;
  const o = new ReliableOrchestrator({
    tools: { t: { execute: async () => ({ output: { [`id-${n++}-${"x".repeat(40)}`]: 1 } }) } },
    defaultTools: ["t"],
    reliability: { idempotencyEnabled: true },
    store: { get: async () => null, put: async () => {}, delete: async () => {} },
  });
  const round = async (from, count) => {
    for (let i = from; i < from + count; i++) {
      await o.run("q", { idempotencyKey: `k${i}` });
      await o.run("q", { [`unknownOption${i}${"y".repeat(30)}`]: 1 }).then(
        () => assert.fail("an unknown option is an error"),
        (e) => assert.equal(e.code, "invalid_request"),
      );
    }
  };
  await round(0, 2_000);
  const before = wasmMemory();
  await round(2_000, 30_000);
  const grown = wasmMemory() - before;
  assert.ok(grown <= 1_000_000, `wasm memory grew by ${grown} bytes over 60,000 runs`);
});
