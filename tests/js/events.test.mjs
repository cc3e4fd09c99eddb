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

/** The fields, in order, of the events that cross as JSON (serde's order in src/model/event.rs). */
const FIELDS = {
  plan: ["at", "traceId", "requestId", "type", "toolName", "fallbacks", "rule", "skipped"],
  attempt: ["at", "traceId", "requestId", "type", "toolName", "attempt"],
};

test("plan and attempt events have the fields, in the order, of the events that cross as JSON", async () => {
  const events = [];
  const o = orchestrator((e) => events.push(e));
  // A rule that picks the default tool: a plan of one tool, with a rule, built by the emitter.
  const one = orchestrator((e) => events.push(e), {
    planner: new RuleBasedPlanner([rules.keyword({ keywords: ["ruled"], toolName: "a", priority: 1 })]),
  });
  const cases = [
    [one, { query: "ruled" }, { toolName: "a", fallbacks: [], skipped: [] }, "string"],
    [o, { query: "plain" }, { toolName: "a", fallbacks: [], rule: null, skipped: [] }, "null"],
    // Fallbacks: this plan crosses as JSON, its attempt through the emitter.
    [o, { query: "ruled" }, { toolName: "b", fallbacks: ["a"], skipped: [] }, "string"],
  ];
  for (const [orch, request, plan, rule] of cases) {
    for (const options of [undefined, { validate: () => true }]) {
      events.length = 0;
      const result = await orch.run(request, options);
      assert.deepEqual(events.map((e) => e.type), ["plan", "attempt"], JSON.stringify(request));
      for (const e of events) {
        assert.deepEqual(Object.keys(e), FIELDS[e.type], e.type);
        assert.equal(Object.getPrototypeOf(e), Object.prototype);
        assert.equal(typeof e.at, "number");
        assert.deepEqual([e.traceId, e.requestId], [result.traceId, result.requestId]);
      }
      const [p, a] = events;
      assert.equal(p.rule === null ? "null" : typeof p.rule, rule, "a rule's name for a plan a rule made, else null");
      assert.deepEqual({ toolName: p.toolName, fallbacks: p.fallbacks, skipped: p.skipped }, { toolName: plan.toolName, fallbacks: plan.fallbacks, skipped: plan.skipped });
      assert.deepEqual([a.toolName, a.attempt], [plan.toolName, 1]);
    }
  }
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
    [{ query: "x" }, { traceId: "t-6" }],
    [{ query: "x" }, undefined],
    [{ query: "x" }, { requestId: "r-8" }],
    [{ query: "x" }, undefined],
  ];
  for (const [request, options] of runs) {
    events.length = 0;
    const result = await o.run(request, options).catch((e) => e);
    assert.ok(events.length >= 2, JSON.stringify(options));
    // Without a trace id of its own a run's trace id is its request id; without a request id
    // of its own, the run makes one.
    const requestId = options?.requestId ?? result.requestId;
    const traceId = options?.traceId ?? requestId;
    assert.equal(typeof requestId, "string");
    for (const e of events) assert.deepEqual([e.traceId, e.requestId], [traceId, requestId], `${JSON.stringify(options)} ${e.type}`);
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
