// Shared plans. The TypeScript driver keeps one plan per set of matching rules (and a
// numbers-only begin for orchestrators without rules or a listener): runs that match
// different rules, or more sets than the cache holds, still each get their own plan, and
// the shared path decides exactly as the Rust driver (reached with `validate`) does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, RuleBasedPlanner, rules } from "reliable-orchestrator";

const passes = () => true;
const echo = (name) => async (request) => ({ output: { tool: name, request } });
const status = (s) => Object.assign(new Error(`status ${s}`), { status: s });

/** An orchestrator whose rule `k<i>` (keyword `k<i>`, priority `i`) picks tool `t<i>`. */
function keyworded(count, onEvent) {
  const tools = Object.fromEntries(Array.from({ length: count + 1 }, (_, i) => [`t${i}`, { provider: `p${i}`, execute: echo(`t${i}`) }]));
  return new ReliableOrchestrator({
    planner: new RuleBasedPlanner(Array.from({ length: count }, (_, i) => rules.keyword({ keywords: [`k${i}`], toolName: `t${i}`, priority: i }))),
    tools,
    defaultTools: [`t${count}`],
    onEvent,
  });
}

/** The plan a query over `count` keyword rules must get: matching rules by priority, then the default. */
function expected(query, count) {
  const matched = Array.from({ length: count }, (_, i) => i).filter((i) => query.includes(`k${i}`));
  return [...matched.reverse().map((i) => `t${i}`), `t${count}`];
}

test("runs matching different rules each get their own plan, in any order", async () => {
  const o = keyworded(3);
  const queries = ["k0", "none", "k1 k2", "k2", "k0", "none", "k1 k2", "k0 k1 k2"];
  for (const query of queries) {
    const result = await o.run({ query });
    assert.equal(result.toolName, expected(query, 3)[0], query);
    assert.equal(result.output.tool, expected(query, 3)[0], query);
  }
  // An explicit tool is never taken from (or put into) the shared plans.
  assert.equal((await o.run({ query: "k0" }, { toolName: "t3" })).toolName, "t3");
  assert.equal((await o.run({ query: "k0" })).toolName, "t0");
});

test("more sets of matching rules than the plan cache holds: every plan is still right", async () => {
  const count = 9; // 512 sets of matching rules, twice the cache
  const plans = [];
  const o = keyworded(count, (e) => e.type === "plan" && plans.push([e.toolName, ...e.fallbacks]));
  for (let round = 0; round < 2; round++) {
    for (let set = 0; set < 1 << count; set++) {
      const query = Array.from({ length: count }, (_, i) => (set & (1 << i) ? `k${i}` : "")).join(" ");
      plans.length = 0;
      const result = await o.run({ query });
      assert.deepEqual(plans, [expected(query, count)], query);
      assert.equal(result.toolName, expected(query, count)[0]);
    }
  }
});

/** What must agree between the drivers: everything but ids and times. */
function settled(value) {
  if (value instanceof Error) return { error: { name: value.name, code: value.code, category: value.category, attempts: value.attempts, toolName: value.toolName } };
  const { traceId, requestId, elapsedMs, ...rest } = value;
  return { result: rest };
}

test("without rules or a listener, retries, fallbacks and an open breaker decide as in the Rust driver", async () => {
  const ended = {};
  for (const [driver, options] of [["ts", undefined], ["rust", { validate: passes }]]) {
    let calls = 0;
    const o = new ReliableOrchestrator({
      tools: {
        a: { provider: "pa", execute: async () => { calls += 1; throw status(503); } },
        b: { provider: "pb", execute: echo("b") },
      },
      defaultTools: ["a", "b"],
      reliability: {
        retryPolicy: { maxAttempts: 2, initialDelay: 0.001, maxDelay: 0.01, jitter: 0 },
        circuitBreakers: { pa: { failureThreshold: 4, timeout: 60 } },
      },
    });
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(settled(await o.run({ query: "q" }, options).then((r) => r, (e) => e)));
    ended[driver] = { runs, calls, open: o.circuitStates().pa.state };
  }
  assert.deepEqual(ended.ts, ended.rust);
  // Two runs of two attempts open `pa`'s breaker (threshold 4); the third run skips it.
  assert.equal(ended.ts.calls, 4);
  assert.equal(ended.ts.open, "open");
  assert.deepEqual(ended.ts.runs.map((r) => r.result.toolName), ["b", "b", "b"]);
  assert.deepEqual(ended.ts.runs.map((r) => r.result.attempts), [3, 3, 1]);
});

test("rules on `query` alone plan from its string; a getter, a non-string or a string request plan as before", async () => {
  const o = keyworded(2);
  let reads = 0;
  const getter = { get query() { reads += 1; return "k1"; } };
  assert.equal((await o.run(getter)).toolName, "t1");
  assert.equal(reads, 1, "the getter runs once (read by the bindings, not by the driver too)");
  assert.equal((await o.run({ query: 7 })).toolName, "t2");
  assert.equal((await o.run("a k0 string")).toolName, "t0");
  assert.equal((await o.run({ other: "k1" })).toolName, "t2");
  const inherited = Object.create({ query: "k1" });
  assert.equal((await o.run(inherited)).toolName, "t2", "an inherited query is not the request's");
  const throwing = new Proxy({}, { getOwnPropertyDescriptor() { throw new Error("trap"); } });
  assert.equal((await o.run(throwing)).toolName, "t2", "a throwing trap means no query");
  for (const request of [{ query: "k0 k1" }, { query: 7 }, "k1", getter]) {
    const ts = await o.run(request);
    const rust = await o.run(request, { validate: passes });
    assert.equal(ts.toolName, rust.toolName);
  }
});

test("a query passed as a string plans as the request would: case, non-ASCII, lone surrogates, events", async () => {
  const events = [];
  const listened = keyworded(2, (e) => events.push(e));
  for (const o of [keyworded(2), listened]) {
    for (const query of ["K1 upper", "\u00e9t\u00e9 k0", "\ud800 k1 \udfff", "", "k0k1"]) {
      const request = { query, extra: 1 };
      const ts = await o.run(request);
      const rust = await o.run(request, { validate: passes });
      assert.equal(ts.toolName, rust.toolName, JSON.stringify(query));
      assert.equal(ts.output.request, request, "the tool is given the request itself, not its query");
      assert.equal((await o.run(query)).toolName, rust.toolName, "a string request plans as its query");
    }
  }
  const result = await listened.run({ query: "k1" });
  const own = events.filter((e) => e.requestId === result.requestId);
  assert.deepEqual(own.map((e) => e.type).slice(0, 1), ["plan"], "the run's events carry its request id");
  assert.equal(own[0].toolName, "t1");
});

test("an output whose getter throws is an invalid output in both drivers, and the table is freed", async () => {
  const ended = {};
  for (const [driver, options] of [["ts", undefined], ["rust", { validate: passes }]]) {
    const o = new ReliableOrchestrator({
      tools: { a: { execute: async () => ({ get output() { throw new Error("unreadable"); } }) } },
      defaultTools: ["a"],
      reliability: { retryPolicy: { maxAttempts: 1 } },
    });
    ended[driver] = await o.run("q", options).then(() => "ran", (e) => ({ code: e.code, category: e.category }));
    assert.equal((await o.run("q", options).catch((e) => e.code)), "tool_failed", "the orchestrator keeps working");
  }
  assert.deepEqual(ended.ts, ended.rust);
  assert.deepEqual(ended.ts, { code: "tool_failed", category: "invalid_output" });
});

test("options of ids and a signal only are read by the driver and checked as the bindings check them", async () => {
  const events = [];
  const o = keyworded(2, (e) => events.push(e));
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const ids = async (options) => o.run({ query: "k1" }, options).then((r) => [r.requestId, r.traceId], (e) => [e.code, e.field]);
  assert.deepEqual(await ids({ requestId: "r-1" }), ["r-1", "r-1"]);
  assert.deepEqual(await ids({ requestId: "r-2", traceId: "t-2", signal: new AbortController().signal }), ["r-2", "t-2"]);
  const [rid, tid] = await ids({ traceId: "t-3" });
  assert.match(rid, uuid);
  assert.equal(tid, "t-3");
  const [own, same] = await ids({});
  assert.match(own, uuid);
  assert.equal(same, own);
  assert.ok(events.some((e) => e.requestId === "r-2" && e.traceId === "t-2"), "events carry the options' ids");
  // Each checked as before: bad ids and signals name their field, whichever driver reads them.
  assert.deepEqual(await ids({ requestId: "bad\nid" }), ["invalid_request", "requestId"]);
  assert.deepEqual(await ids({ traceId: "bad\u0000" }), ["invalid_request", "traceId"]);
  assert.deepEqual(await ids({ requestId: 5 }), ["invalid_request", "requestId"]);
  assert.deepEqual(await ids({ signal: { aborted: false } }), ["invalid_request", "signal"]);
  const fired = new AbortController();
  fired.abort();
  assert.deepEqual(await ids({ requestId: "r-4", signal: fired.signal }), ["aborted", undefined]);
  // A key goes with them to the Rust driver, read once: the run is recorded and replayed.
  const keyed = new ReliableOrchestrator({ tools: { t: { execute: async () => ({ output: Math.random() }) } }, defaultTools: ["t"], reliability: { idempotencyEnabled: true } });
  const first = await keyed.run("q", { requestId: "r-7", idempotencyKey: "k-7" });
  const again = await keyed.run("q", { idempotencyKey: "k-7", signal: new AbortController().signal });
  assert.deepEqual([again.output, again.cached, first.requestId], [first.output, true, "r-7"]);
  assert.deepEqual(await keyed.run("q", { idempotencyKey: "" }).then(() => "ran", (e) => [e.code, e.field]), ["invalid_request", "idempotencyKey"]);
  // The same errors, with the same fields, as options the bindings read.
  const error = (options) => o.run({ query: "k1" }, options).then(() => ({}), (e) => ({ ...e, message: e.message }));
  for (const bad of [{ requestId: "" }, { traceId: "a\nb" }, { signal: {} }]) {
    assert.deepEqual(await error(bad), await error({ ...bad, budget: undefined }), JSON.stringify(bad));
  }
  // A `validate` the bindings would see (non-enumerable, inherited) still sends the run to them.
  let validated = 0;
  const hidden = Object.defineProperty({ requestId: "r-8" }, "validate", { value: () => { validated += 1; return true; } });
  assert.equal((await o.run({ query: "k1" }, hidden)).requestId, "r-8");
  assert.equal(validated, 1, "validate ran");
  // A getter is the bindings' to read: it runs once.
  let reads = 0;
  const getter = { get requestId() { reads += 1; return "r-5"; } };
  assert.deepEqual(await ids(getter), ["r-5", "r-5"]);
  assert.equal(reads, 1);
  // A caller's abort still ends a run begun this way.
  const caller = new AbortController();
  const hang = new ReliableOrchestrator({ tools: { t: { execute: () => new Promise(() => {}) } }, defaultTools: ["t"] });
  const stopped = hang.run("q", { requestId: "r-6", signal: caller.signal }).then(() => "ran", (e) => [e.code, e.requestId]);
  caller.abort();
  assert.deepEqual(await stopped, ["aborted", "r-6"]);
});

test("concurrent runs each read their own outcome, whatever ran between their last step and their answer", async () => {
  const signal = new AbortController().signal;
  const o = new ReliableOrchestrator({
    tools: {
      t: { execute: async (q) => { if (q.startsWith("fail")) throw Object.assign(new Error(q), { status: 400 }); return { output: q, usage: { promptTokens: q.length, completionTokens: 1 } }; } },
    },
    defaultTools: ["t"],
  });
  const runs = ["fail-a", "ok-bb", "fail-ccc", "ok-dddd"].map((q) => o.run(q, { signal }).then((r) => ["ok", r.output, r.usage.promptTokens], (e) => ["error", e.message, e.code]));
  const outcomes = await Promise.all(runs);
  assert.deepEqual(outcomes[1], ["ok", "ok-bb", 5]);
  assert.deepEqual(outcomes[3], ["ok", "ok-dddd", 7]);
  assert.match(outcomes[0][1], /fail-a/);
  assert.match(outcomes[2][1], /fail-ccc/);
});

test("a listener that aborts the run's own signal mid-run: the run is aborted, with its error", async () => {
  const c = new AbortController();
  const o = new ReliableOrchestrator({
    tools: { t: { execute: async () => { throw Object.assign(new Error("busy"), { status: 503 }); } } },
    defaultTools: ["t"],
    reliability: { retryPolicy: { maxAttempts: 3, initialDelay: 0.01, maxDelay: 5, jitter: 0 } },
    onEvent: (e) => { if (e.type === "retry") c.abort(); },
  });
  const e = await o.run("q", { signal: c.signal, requestId: "r-9" }).then(() => "ran", (x) => x);
  assert.deepEqual([e.code, e.requestId], ["aborted", "r-9"]);
});

test("an output getter that stops the run and starts another: neither run gets the other's answer", async () => {
  const c = new AbortController();
  let other;
  const o = new ReliableOrchestrator({
    tools: {
      a: { execute: async () => ({ output: 1, get usage() { c.abort(); other = o.run("b", { toolName: "b" }); return undefined; } }) },
      b: { execute: () => new Promise((resolve) => setTimeout(() => resolve({ output: "b" }), 30)) },
    },
    defaultTools: ["a"],
  });
  const first = await o.run("a", { signal: c.signal }).then(() => "ran", (e) => e.code);
  assert.equal(first, "aborted");
  assert.equal((await other).output, "b");
});
