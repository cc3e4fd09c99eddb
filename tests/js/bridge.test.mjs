// The async Rust driver (keyed runs, streams) awaits promises and timers through the package's
// bridge (js/bridge.ts, src/wasm/promises.rs): thenables adopted as the Promise resolve job
// does, abandoned waits that settle later, timers cleared when a run no longer needs them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, memoryStore } from "reliable-orchestrator";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const outcome = (p) => p.then((r) => ({ output: r.output, attempts: r.attempts }), (e) => ({ code: e.code, category: e.category }));

// What a tool returns, as each would be adopted by `await`.
const answers = {
  "native promise": () => Promise.resolve({ output: "native" }),
  "thenable resolving synchronously": () => ({ then: (resolve) => resolve({ output: "sync" }) }),
  "thenable resolving later": () => ({ then: (resolve) => setTimeout(() => resolve({ output: "later" }), 1) }),
  "thenable resolving with a promise": () => ({ then: (resolve) => resolve(Promise.resolve({ output: "chained" })) }),
  "thenable resolving then throwing": () => ({ then: (resolve) => { resolve({ output: "first" }); throw new Error("ignored"); } }),
  "thenable rejecting": () => ({ then: (_resolve, reject) => reject(Object.assign(new Error("bad request"), { status: 400 })) }),
  "thenable whose then throws": () => ({ then: () => { throw new Error("broken then"); } }),
  "promise whose own then throws": () => { const p = Promise.resolve({ output: 1 }); p.then = () => { throw new Error("own then"); }; return p; },
  "rejected native promise": () => Promise.reject(Object.assign(new Error("unauthorized"), { status: 401 })),
};

test("keyed runs (the Rust driver) adopt every kind of answer as plain runs (the TypeScript driver) do", async () => {
  for (const [name, execute] of Object.entries(answers)) {
    const o = new ReliableOrchestrator({
      tools: { t: { execute } },
      defaultTools: ["t"],
      reliability: { retryPolicy: { maxAttempts: 1 } },
      store: memoryStore(),
    });
    const plain = await outcome(o.run("q"));
    const keyed = await outcome(o.run("q", { idempotencyKey: name }));
    assert.deepEqual(keyed, plain, name);
    assert.notEqual(plain.output ?? plain.code, undefined, name);
  }
});

test("store reads abandoned by an abort settle later without disturbing later runs", async () => {
  const inner = memoryStore();
  const held = [];
  let holding = false;
  let record;
  const store = {
    // A held read answers, when released, another request's record: a fresh run that got it
    // (its wait misrouted to an abandoned one) would replay or refuse instead of executing.
    get: (key) => (holding ? new Promise((resolve) => held.push(() => resolve(record))) : inner.get(key)),
    put: (key, value, options) => {
      record = value;
      return inner.put(key, value, options);
    },
    putIfAbsent: inner.putIfAbsent,
    delete: inner.delete,
  };
  let calls = 0;
  const o = new ReliableOrchestrator({ tools: { t: { execute: async (r) => ({ output: `${r}:${++calls}` }) } }, defaultTools: ["t"], store });
  await o.run("x", { idempotencyKey: "x" });
  assert.match(record, /completed/);
  calls = 0;
  holding = true;
  const controllers = Array.from({ length: 20 }, () => new AbortController());
  const stopped = controllers.map((c, i) => outcome(o.run(`a${i}`, { idempotencyKey: `a${i}`, signal: c.signal })));
  await sleep(5);
  assert.equal(held.length, 20, "every read is held");
  for (const c of controllers) c.abort();
  for (const s of await Promise.all(stopped)) assert.equal(s.code, "aborted");
  holding = false;
  // The abandoned reads answer now, interleaved with new runs whose waits take their places.
  const fresh = Array.from({ length: 50 }, (_, i) => o.run(`b${i}`, { idempotencyKey: `b${i}` }));
  for (const release of held) release();
  const results = await Promise.all(fresh);
  assert.deepEqual(results.map((r) => r.output.split(":")[0]), Array.from({ length: 50 }, (_, i) => `b${i}`));
  assert.equal(calls, 50);
  const replay = await o.run("b7", { idempotencyKey: "b7" });
  assert.equal(replay.cached, true);
  assert.equal(replay.output, results[7].output);
  assert.equal(o.inFlight(), 0);
});

test("timers of the Rust driver fire for retries and are cleared when the run ends", async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  let failures = 1;
  const o = new ReliableOrchestrator({
    tools: { t: { execute: async () => {
      if (failures-- > 0) throw Object.assign(new Error("busy"), { status: 503 });
      return { output: "ok" };
    } } },
    defaultTools: ["t"],
    reliability: { retryPolicy: { maxAttempts: 2, initialDelay: 0.01, maxDelay: 0.01 } },
    store: memoryStore(),
  });
  await sleep(5);
  const before = timers();
  // A retry's wait, and a deadline's watchdog (10 s) that the run's end must clear.
  const r = await o.run("q", { idempotencyKey: "retry", timeoutMs: 10_000 });
  assert.equal(r.output, "ok");
  assert.equal(r.attempts, 2);
  const slow = new ReliableOrchestrator({ tools: { t: { execute: () => new Promise(() => {}) } }, defaultTools: ["t"], store: memoryStore() });
  await assert.rejects(slow.run("q", { idempotencyKey: "slow", timeoutMs: 20 }), (e) => e.code === "timeout");
  await sleep(5);
  assert.equal(timers(), before, "no timer left armed");
});
