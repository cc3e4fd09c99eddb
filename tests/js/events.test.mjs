// Events built in JS. A run's `plan` and `attempt` events, in their usual shape, are built
// by the orchestrator's emitter from a few arguments, the ids crossing only when they change
// (src/wasm/js_events.rs); every other event crosses as JSON. Both must read alike, and each
// event must carry its own run's ids whatever ran in between: a listener that starts runs,
// two orchestrators taking turns, a listener that throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, RuleBasedPlanner, rules } from "reliable-orchestrator";

const echo = async (request) => ({ output: request });
const fails = async () => {
  throw Object.assign(new Error("down"), { status: 503 });
};

function orchestrator(onEvent, extra = {}) {
  return new ReliableOrchestrator({
    planner: new RuleBasedPlanner([rules.keyword({ keywords: ["ruled"], toolName: "b", priority: 1 })]),
    tools: { a: { provider: "pa", execute: echo }, b: { provider: "pb", execute: echo }, down: { provider: "pd", execute: fails } },
    defaultTools: ["a"],
    reliability: { retryPolicy: { maxAttempts: 1 } },
    onEvent,
    ...extra,
  });
}

/** Each run's events by request id: all must name the run they belong to. */
function byRun(events) {
  const runs = new Map();
  for (const e of events) {
    assert.equal(typeof e.requestId, "string", JSON.stringify(e));
    if (!runs.has(e.requestId)) runs.set(e.requestId, []);
    runs.get(e.requestId).push(e);
  }
  return runs;
}

test("plan and attempt events have the fields, in the order, of the events that cross as JSON", async () => {
  const events = [];
  const o = orchestrator((e) => events.push(e));
  const ts = await o.run({ query: "ruled" });
  const rust = await o.run({ query: "ruled" }, { validate: () => true });
  const [tsRun, rustRun] = [ts, rust].map((r) => byRun(events).get(r.requestId));
  assert.deepEqual(tsRun.map((e) => e.type), ["plan", "attempt"]);
  for (const [i, e] of tsRun.entries()) {
    const other = rustRun[i];
    assert.deepEqual(Object.keys(e), Object.keys(other), e.type);
    assert.deepEqual({ ...e, at: 0, traceId: "", requestId: "" }, { ...other, at: 0, traceId: "", requestId: "" });
    assert.equal(e.traceId, ts.traceId);
    assert.equal(typeof e.at, "number");
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
  }
  assert.equal(typeof tsRun[0].rule, "string", "a rule's name, not null, for a plan a rule made");
  events.length = 0;
  await o.run({ query: "plain" });
  assert.equal(events[0].rule, null, "a default plan has rule null");
});

test("ids given in options, one event apart from the next run's, and the JSON events between", async () => {
  const events = [];
  const o = orchestrator((e) => events.push(e));
  const runs = [
    [{ query: "x" }, { requestId: "r-1", traceId: "t-1" }],
    [{ query: "x" }, { requestId: "r-2", traceId: "t-1" }],
    [{ query: "x" }, { requestId: "r-3" }],
    [{ query: "x" }, { requestId: "r-3", traceId: "t-3" }],
    [{ query: "x" }, { toolName: "down", requestId: "r-4" }],
    [{ query: "x" }, { requestId: "r-5", traceId: "r-5" }],
  ];
  for (const [request, options] of runs) {
    events.length = 0;
    await o.run(request, options).catch(() => {});
    assert.ok(events.length >= 2, options.requestId);
    // Without a trace id of its own a run's trace id is its request id.
    const traceId = options.traceId ?? options.requestId;
    for (const e of events) assert.deepEqual([e.traceId, e.requestId], [traceId, options.requestId], `${options.requestId} ${e.type}`);
  }
});

test("a listener that starts runs, and two orchestrators taking turns: each event names its own run", async () => {
  const events = [];
  let nested = 0;
  const second = orchestrator((e) => events.push({ ...e, from: "second" }));
  const first = orchestrator((e) => {
    events.push({ ...e, from: "first" });
    // Started from inside the listener, synchronously planned: its events come between ours.
    if (e.type === "plan" && nested < 20) {
      nested += 1;
      void second.run({ query: "inner" });
      void first.run({ query: "ruled" }, { requestId: `nested-${nested}` });
    }
  });
  const results = [];
  for (let i = 0; i < 10; i++) {
    results.push(first.run({ query: "outer" }), second.run({ query: "ruled" }, { requestId: `s-${i}` }));
  }
  const done = await Promise.all(results);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const seen = byRun(events);
  for (const r of done) {
    const own = seen.get(r.requestId);
    assert.deepEqual(own.map((e) => e.type), ["plan", "attempt"], r.requestId);
    for (const e of own) assert.equal(e.traceId, r.traceId, `${r.requestId} ${e.type}`);
    assert.equal(new Set(own.map((e) => e.from)).size, 1, "one orchestrator's events");
  }
  for (const [id, own] of seen) {
    assert.equal(new Set(own.map((e) => e.traceId)).size, 1, id);
    assert.equal(new Set(own.map((e) => e.from)).size, 1, id);
  }
  assert.ok(nested > 0);
});

test("a listener that throws breaks nothing, and the next event still has its ids", async () => {
  let calls = 0;
  const events = [];
  const o = orchestrator((e) => {
    calls += 1;
    if (calls % 2 === 1) throw new Error("listener");
    events.push(e);
  });
  const a = await o.run({ query: "x" });
  const b = await o.run({ query: "x" }, { requestId: "after-throw" });
  assert.equal(a.output.query, "x");
  assert.deepEqual(events.map((e) => [e.type, e.requestId]), [["attempt", a.requestId], ["attempt", "after-throw"]]);
});
