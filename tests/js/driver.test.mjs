// The two drivers of the run machine agree. A run without `validate` is performed by the
// TypeScript driver (js/driver.ts); the same run with `validate: () => true` (which changes no
// outcome) is handed to the async Rust driver. Each scenario runs through both, on orchestrators
// of its own, and must end with the same result or error and the same events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator } from "reliable-orchestrator";

const passes = () => true;
const drivers = { ts: (options) => options, rust: (options) => ({ ...options, validate: passes }) };

/** What must agree: everything but ids and times. */
function settled(value) {
  if (value instanceof Error) {
    const { name, message, code, category, attempts, toolName, budgetType, limit, spent, output } = value;
    return { error: { name, message, code, category, attempts, toolName, budgetType, limit, spent, output, cause: value.cause?.message ?? value.cause?.status } };
  }
  const { traceId, requestId, elapsedMs, ...rest } = value;
  assert.equal(typeof traceId, "string");
  assert.equal(typeof requestId, "string");
  assert.equal(typeof elapsedMs, "number");
  return { result: rest };
}

function quiet(event) {
  const { at, traceId, requestId, ...rest } = event;
  return rest;
}

/** Runs `scenario` through both drivers; answers what each ended with and the events it saw. */
async function both(makeTools, options, reliability = {}, request = { query: "q" }) {
  const out = {};
  for (const [name, wrap] of Object.entries(drivers)) {
    const events = [];
    const tools = makeTools();
    const o = new ReliableOrchestrator({
      tools,
      defaultTools: Object.keys(tools),
      reliability: { retryPolicy: { initialDelay: 0.005, maxDelay: 0.05, jitter: 0 }, ...reliability },
      onEvent: (e) => events.push(quiet(e)),
    });
    const ended = await o.run(request, wrap(options)).then(settled, settled);
    out[name] = { ...ended, events };
  }
  return out;
}

function failing(times, make) {
  let calls = 0;
  return async (request) => {
    calls += 1;
    if (calls <= times) throw make(calls);
    return { output: { echo: request, calls }, usage: { promptTokens: 2, completionTokens: 3 } };
  };
}

const status = (s) => Object.assign(new Error(`status ${s}`), { status: s });

test("a retried success: same result and events", async () => {
  const runs = await both(() => ({ a: { provider: "p", execute: failing(1, () => status(503)) } }), {});
  assert.deepEqual(runs.ts, runs.rust);
  assert.equal(runs.ts.result.attempts, 2);
  assert.deepEqual(runs.ts.events.map((e) => e.type), ["plan", "attempt", "retry", "attempt"]);
});

test("a fallback after exhausted retries, then success", async () => {
  const tools = () => ({
    a: { provider: "p", execute: failing(9, () => status(500)) },
    b: { provider: "q", execute: async (r) => ({ output: r, costUsd: 0.25 }) },
  });
  const runs = await both(tools, {}, { retryPolicy: { maxAttempts: 2, initialDelay: 0.005, maxDelay: 0.05, jitter: 0 } });
  assert.deepEqual(runs.ts, runs.rust);
  assert.equal(runs.ts.result.toolName, "b");
  assert.equal(runs.ts.result.costUsd, 0.25);
});

test("a client error fails at once; a rate limit with a hint too long gives the tool up", async () => {
  const client = await both(() => ({ a: { execute: failing(9, () => status(400)) } }), {});
  assert.deepEqual(client.ts, client.rust);
  assert.equal(client.ts.error.category, "client");
  const hinted = () => Object.assign(status(429), { headers: { "retry-after": "3600" } });
  const limited = await both(() => ({ a: { execute: failing(9, hinted) } }), {});
  assert.deepEqual(limited.ts, limited.rust);
  assert.equal(limited.ts.error.category, "rate_limit");
});

test("usage past the token budget stops the run with the output kept", async () => {
  const tools = () => ({ a: { execute: async () => ({ output: "paid for", usage: { promptTokens: 80, completionTokens: 40 } }) } });
  const runs = await both(tools, { budget: { tokens: 100 } });
  assert.deepEqual(runs.ts, runs.rust);
  assert.equal(runs.ts.error.code, "budget_exceeded");
  assert.equal(runs.ts.error.output, "paid for");
});

test("an attempt timeout is a retryable timeout; a run deadline during a wait is a timeout", async () => {
  let calls = 0;
  const slowOnce = () => ({
    a: {
      execute: (r, _o, ctx) => {
        calls += 1;
        if (calls % 2 === 1) return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
        return { output: r };
      },
    },
  });
  const timed = await both(slowOnce, { attemptTimeoutMs: 20 });
  assert.deepEqual(timed.ts, timed.rust);
  assert.deepEqual(timed.ts.events.map((e) => e.type), ["plan", "attempt", "retry", "attempt"]);
  const waiting = await both(() => ({ a: { execute: failing(9, () => status(503)) } }), { timeoutMs: 30 }, {
    retryPolicy: { initialDelay: 0.02, maxDelay: 1, backoffFactor: 4, jitter: 0 },
  });
  assert.deepEqual(waiting.ts, waiting.rust);
  assert.equal(waiting.ts.error.code, "timeout");
});

test("the caller's signal aborts a call in flight, with its reason as the cause", async () => {
  const hang = () => ({ a: { execute: (_r, _o, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))) } });
  const out = {};
  for (const [name, wrap] of Object.entries(drivers)) {
    const controller = new AbortController();
    const o = new ReliableOrchestrator({ tools: hang(), defaultTools: ["a"] });
    setTimeout(() => controller.abort(new Error("user left")), 15);
    out[name] = await o.run("q", wrap({ signal: controller.signal })).then(settled, settled);
  }
  assert.deepEqual(out.ts, out.rust);
  assert.equal(out.ts.error.code, "aborted");
  assert.equal(out.ts.error.cause, "user left");
});

test("a listener may start runs of its own on the same orchestrator", async () => {
  const nested = [];
  let started = 0;
  let o;
  o = new ReliableOrchestrator({
    tools: { a: { execute: async (r) => ({ output: r }) } },
    defaultTools: ["a"],
    onEvent: (e) => {
      // Counted before the nested run starts: its own plan event comes while it begins.
      if (e.type === "plan" && started < 3) {
        started += 1;
        nested.push(o.run("inner"));
      }
    },
  });
  const outer = await o.run("outer");
  assert.equal(outer.output, "outer");
  const inner = await Promise.all(nested);
  assert.deepEqual(inner.map((r) => r.output), ["inner", "inner", "inner"]);
});

test("many runs in flight at once each get their own answer", async () => {
  const o = new ReliableOrchestrator({ tools: { a: { execute: async (r) => ({ output: r.n }) } }, defaultTools: ["a"] });
  const runs = await Promise.all(Array.from({ length: 5000 }, (_, n) => o.run({ n })));
  assert.deepEqual(runs.map((r) => r.output), Array.from({ length: 5000 }, (_, n) => n));
  assert.equal(new Set(runs.map((r) => r.requestId)).size, 5000);
});

test("a timed-out attempt's late answer leaves the next wait abortable", async () => {
  // Attempt 1 times out at 10 ms and answers at 30 ms, inside the 5 s wait for the retry; the
  // caller aborts at 60 ms: the wait must end then (the late answer must not disarm it), long
  // before the wait is over (the bound is the wait, not a timing).
  let calls = 0;
  const tools = () => ({
    a: {
      provider: "p",
      execute: () => {
        calls += 1;
        return new Promise((resolve) => setTimeout(() => resolve({ output: calls }), 30));
      },
    },
  });
  const runs = {};
  for (const [name, wrap] of Object.entries(drivers)) {
    calls = 0;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("caller")), 60);
    const t = tools();
    const o = new ReliableOrchestrator({
      tools: t,
      defaultTools: ["a"],
      reliability: { attemptTimeoutMs: 10, retryPolicy: { maxAttempts: 3, initialDelay: 5, maxDelay: 10, jitter: 0 } },
    });
    const started = performance.now();
    const ended = await o.run({ query: "q" }, wrap({ signal: controller.signal })).then(settled, settled);
    runs[name] = { ended, calls, early: performance.now() - started < 4000 };
  }
  assert.deepEqual(runs.ts, runs.rust);
  assert.equal(runs.ts.ended.error?.code, "aborted");
  assert.equal(runs.ts.calls, 1, "no second attempt");
  assert.equal(runs.ts.early, true, "the abort ended the wait, long before it was over");
});

test("results of both drivers have the same fields in the same order, message and cost included", async () => {
  const message = { text: "hi", toolCalls: [{ id: "c1", name: "f", arguments: { a: [1, "é"] } }], finishReason: "stop", refusal: null };
  const tools = {
    plain: { provider: "p", execute: async (r) => ({ output: r }) },
    spent: { provider: "q", execute: async () => ({ output: { nested: [1, { x: null }] }, usage: { promptTokens: 3, completionTokens: 4 }, costUsd: 0.5, message }) },
  };
  const o = new ReliableOrchestrator({ tools, defaultTools: ["plain"] });
  for (const toolName of ["plain", "spent"]) {
    const ts = await o.run({ query: "q" }, { toolName });
    const rust = await o.run({ query: "q" }, { toolName, validate: passes });
    assert.deepEqual(Object.keys(rust), Object.keys(ts), toolName);
    assert.deepEqual(Object.keys(rust.usage), Object.keys(ts.usage));
    const strip = ({ traceId, requestId, elapsedMs, ...rest }) => rest;
    assert.deepEqual(strip(rust), strip(ts), toolName);
    assert.equal(JSON.stringify(strip(rust)), JSON.stringify(strip(ts)), "same JSON, key order included");
  }
  const keyed = new ReliableOrchestrator({ tools, defaultTools: ["spent"], reliability: { idempotencyEnabled: true }, store: (await import("reliable-orchestrator")).memoryStore() });
  const first = await keyed.run({ query: "k" }, { idempotencyKey: "k" });
  const replay = await keyed.run({ query: "k" }, { idempotencyKey: "k" });
  assert.deepEqual(Object.keys(replay), Object.keys(first));
  assert.deepEqual({ ...replay, cached: false, traceId: "", requestId: "", elapsedMs: 0 }, { ...first, traceId: "", requestId: "", elapsedMs: 0 });
  assert.equal(replay.cached, true);
});

test("a listener that aborts the caller's signal as the run's last input ends it: the run keeps its outcome", async () => {
  // The breaker event of the failure that ends the run reaches the listener inside that input;
  // the abort it fires must neither replace the outcome nor stop the run the listener began,
  // which may have taken the ended run's table slot.
  const runs = {};
  for (const [name, wrap] of Object.entries(drivers)) {
    let controller;
    let other;
    const o = new ReliableOrchestrator({
      tools: { a: { provider: "p", execute: async () => { throw status(503); } }, b: { provider: "q", execute: async (r) => ({ output: r }) } },
      defaultTools: ["a"],
      reliability: { retryPolicy: { maxAttempts: 1 }, circuitBreakers: { p: { failureThreshold: 1, timeout: 60 } } },
      onEvent: (e) => {
        if (e.type === "breaker" && e.to === "open") {
          other = o.run({ query: "other" }, wrap({ toolName: "b", signal: new AbortController().signal }));
          controller.abort(new Error("late"));
        }
      },
    });
    controller = new AbortController();
    const ended = await o.run({ query: "q" }, wrap({ signal: controller.signal })).then(settled, settled);
    runs[name] = { ended, other: await other.then(settled, settled) };
  }
  assert.deepEqual(runs.ts, runs.rust);
  assert.equal(runs.ts.ended.error.code, "tool_failed");
  assert.equal(runs.ts.other.result.output.query, "other");
});
