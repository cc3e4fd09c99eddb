// Load: 10,000 concurrent runs in one isolate with mixed keys and faults, in five waves.
// Every run settles with a result or a typed error, keyed work executes once per key, and the
// heap stops growing once warm: it may grow over the first waves (JIT, wasm-bindgen's value
// table reaching peak concurrency), then waves four and five leave it where it was, but for
// the 200 idempotency records each wave adds to the store (kept for their TTL, as they should).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, OrchestratorError, memoryStore } from "reliable-orchestrator";

const RUNS = 10_000;
const KEYS = 200;

function wave(o, executedByKey, wave) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const keyed = i % 3 === 0;
    const key = keyed ? `w${wave}-k${i % KEYS}` : undefined;
    const request = keyed ? { query: `keyed ${key}` } : { query: `run ${i}`, fail: i % 7 === 0 ? 503 : i % 11 === 0 ? 400 : 0 };
    // A deadline far past any healthy wave, so a busy machine cannot turn runs into timeouts.
    runs.push(o.run(request, { idempotencyKey: key, timeoutMs: 120_000 }));
  }
  return Promise.allSettled(runs);
}

test("10,000 concurrent runs, five waves: all settle typed, keys execute once, memory returns to its level", async () => {
  const executedByKey = new Map();
  const tool = (provider) => ({
    provider,
    execute: async (request) => {
      await new Promise((r) => setTimeout(r, (request.query.length % 5)));
      const key = request.query.startsWith("keyed ") ? request.query.slice(6) : undefined;
      if (key) executedByKey.set(key, (executedByKey.get(key) ?? 0) + 1);
      if (request.fail) throw Object.assign(new Error(`status ${request.fail}`), { status: request.fail });
      return { output: { echo: request.query }, usage: { promptTokens: 3, completionTokens: 4 } };
    },
  });
  const store = memoryStore();
  const o = new ReliableOrchestrator({
    tools: { a: tool("provider-a"), b: tool("provider-b") },
    defaultTools: ["a", "b"],
    reliability: {
      retryPolicy: { maxAttempts: 2, initialDelay: 0.001, maxDelay: 0.005 },
      circuitBreakers: { default: { failureThreshold: 1_000_000 } },
      idempotencyEnabled: true,
    },
    store,
  });

  // Full collections with a pause between, so finalizers (wasm-bindgen's closures) run too.
  const measure = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    return process.memoryUsage();
  };
  // Each wave's results are checked, then dropped: only what the orchestrator keeps may stay.
  const check = (results) => {
    assert.equal(results.length, RUNS);
    for (const r of results) {
      if (r.status === "rejected") {
        assert.ok(r.reason instanceof OrchestratorError, String(r.reason));
        assert.equal(r.reason.code, "tool_failed");
      }
    }
    const rejected = results.filter((r) => r.status === "rejected").length;
    // i % 11 === 0 (not keyed, not % 7) are 400s: non-retryable, they fail.
    assert.ok(rejected > 0 && rejected < RUNS / 5, `${rejected} rejected`);
  };
  const started = performance.now();
  check(await wave(o, executedByKey, 1));
  const firstMs = performance.now() - started;
  const afterFirst = await measure();
  check(await wave(o, executedByKey, 2));
  const afterSecond = await measure();
  check(await wave(o, executedByKey, 3));
  const afterThird = await measure();
  check(await wave(o, executedByKey, 4));
  check(await wave(o, executedByKey, 5));
  const afterFifth = await measure();

  assert.equal(executedByKey.size, 5 * KEYS);
  assert.ok([...executedByKey.values()].every((n) => n === 1), "each key executed exactly once");
  assert.equal(o.inFlight(), 0, "no execution left registered");
  assert.equal(store.size, 5 * KEYS, "one record per key");
  assert.deepEqual(Object.keys(o.circuitStates()).sort(), ["provider-a", "provider-b"]);
  const mb = (m) => ((m.heapUsed + m.arrayBuffers) / 2 ** 20).toFixed(1);
  const grewMb = (afterFifth.heapUsed + afterFifth.arrayBuffers - afterThird.heapUsed - afterThird.arrayBuffers) / 2 ** 20;
  console.log(`first wave ${firstMs.toFixed(0)} ms (${((firstMs * 1000) / RUNS).toFixed(1)} µs/run); heap after waves 1, 2, 3, 5: ${mb(afterFirst)}, ${mb(afterSecond)}, ${mb(afterThird)}, ${mb(afterFifth)} MB; rss ${(afterFifth.rss / 2 ** 20).toFixed(0)} MB`);
  assert.ok(grewMb < 1.5, `the heap grew ${grewMb.toFixed(1)} MB across waves four and five`);
});
