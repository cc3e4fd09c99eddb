// Keyed runs whose options hold ids and a key alone have their record read by the TypeScript
// driver: a hit is replayed without the async Rust driver, anything else goes to it with the
// plan and that read. Either way a run must be what the Rust driver alone makes of it (options
// with a `timeoutMs` keep a keyed run on the Rust driver: the reference here).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, memoryStore } from "reliable-orchestrator";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sansTimes = ({ elapsedMs, traceId, requestId, ...rest }) => rest;
const sansAt = ({ at, traceId, requestId, ...rest }) => rest;

function orchestrator(store, executions) {
  const events = [];
  const o = new ReliableOrchestrator({
    tools: {
      t: {
        execute: async (request) => {
          executions.push(request);
          return { output: { echo: request, n: [1, 2.5, "three", null, { deep: true }] }, usage: { promptTokens: 3, completionTokens: 4 }, costUsd: 0.25, message: { role: "assistant", content: "hi" } };
        },
      },
    },
    defaultTools: ["t"],
    store,
    onEvent: (e) => events.push(e),
  });
  return { o, events };
}

test("a hit read by the driver is the hit the Rust driver replays: result, event, ids", async () => {
  const executions = [];
  const { o, events } = orchestrator(memoryStore(), executions);
  const first = await o.run({ query: "q" }, { idempotencyKey: "k" });
  events.length = 0;
  const viaDriver = await o.run({ query: "q" }, { idempotencyKey: "k", requestId: "req-a" });
  const driverEvents = events.splice(0);
  const viaRust = await o.run({ query: "q" }, { idempotencyKey: "k", requestId: "req-b", timeoutMs: 60_000 });
  const rustEvents = events.splice(0);
  assert.equal(executions.length, 1);
  assert.equal(viaDriver.cached, true);
  assert.deepEqual(Object.keys(viaDriver), Object.keys(viaRust));
  assert.deepEqual(sansTimes(viaDriver), sansTimes(viaRust));
  assert.deepEqual(viaDriver.output, first.output);
  assert.equal(viaDriver.requestId, "req-a");
  assert.ok(viaDriver.elapsedMs >= 0);
  assert.deepEqual(driverEvents.map(sansAt), rustEvents.map(sansAt));
  assert.deepEqual(driverEvents.map((e) => e.requestId), ["req-a"]);
  // A conflicting request under the key is refused alike.
  const refusals = [];
  for (const extra of [{}, { timeoutMs: 60_000 }]) {
    refusals.push(await o.run({ query: "other" }, { idempotencyKey: "k", ...extra }).then(() => "ran", (e) => [e.name, e.code, e.reason]));
  }
  assert.deepEqual(refusals[0], refusals[1]);
  assert.equal(refusals[0][1], "conflict");
  assert.equal(executions.length, 1);
});

test("a miss read before another execution of the key started is read again, not trusted", async () => {
  // No putIfAbsent: a stale "nothing stored" would be written over, and the key executed twice.
  const inner = memoryStore();
  const held = [];
  const store = {
    // What the key holds when `get` is called, answered when released.
    get: (key) => {
      const now = inner.get(key);
      return new Promise((resolve) => held.push(() => resolve(now)));
    },
    put: inner.put,
    delete: inner.delete,
  };
  const executions = [];
  const { o } = orchestrator(store, executions);
  const a = o.run("q", { idempotencyKey: "k" });
  const b = o.run("q", { idempotencyKey: "k" });
  await sleep(5);
  assert.equal(held.length, 2, "both reads are the driver's");
  // B's read answers first: B executes and records. A's read, made before, answers "nothing".
  const [readA, readB] = held.splice(0);
  readB();
  // B's execution reads nothing more: it writes its lease, runs, records.
  const rb = await b;
  readA();
  // A's run reads again (the Rust driver's own read, held like the others): it finds B's record.
  for (let i = 0; i < 2000 && held.length === 0; i++) await sleep(1);
  assert.equal(held.length, 1, "A reads the key again");
  for (const release of held.splice(0)) release();
  const ra = await a;
  assert.equal(executions.length, 1);
  assert.equal(rb.cached, false);
  assert.equal(ra.cached, true);
  assert.deepEqual(ra.output, rb.output);
});

test("a store read that fails is the Rust driver's store failure, read once", async () => {
  let reads = 0;
  const inner = memoryStore();
  const failing = { get: async () => { reads++; throw new Error("kv down"); }, put: inner.put, delete: inner.delete };
  const executions = [];
  const { o, events } = orchestrator(failing, executions);
  const failure = await o.run("q", { idempotencyKey: "k" }).then(() => "ran", (e) => [e.code, e.message]);
  assert.equal(reads, 1);
  assert.equal(failure[0], "store_failed");
  assert.match(failure[1], /kv down/);
  assert.deepEqual(events.map((e) => e.outcome).filter(Boolean), ["store_failed"]);
  // A `get` answering what is not a record is a failure the same way; a throwing `get` too.
  for (const get of [async () => 42, () => { throw new Error("sync throw"); }, () => ({ then() { throw new Error("bad then"); } })]) {
    const { o: other } = orchestrator({ get, put: inner.put, delete: inner.delete }, executions);
    const code = await other.run("q", { idempotencyKey: "k" }).then(() => "ran", (e) => e.code);
    assert.equal(code, "store_failed");
  }
  assert.equal(executions.length, 0);
});
