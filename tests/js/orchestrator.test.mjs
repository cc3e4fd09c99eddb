// The packed npm package, imported as a user would, with real timers (delays scaled down).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ReliableOrchestrator, RuleBasedPlanner, rules, memoryStore,
  OrchestratorError, ToolExecutionError, BudgetExceeded, ConflictError,
} from "reliable-orchestrator";

const fast = { maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.2, jitter: 0 };

function counting(outcomes, provider = "p") {
  let calls = 0;
  const tool = {
    provider,
    execute: async (request, options, ctx) => {
      const outcome = outcomes[Math.min(calls++, outcomes.length - 1)];
      if (typeof outcome === "function") return outcome(request, options, ctx);
      if (outcome instanceof Error || (outcome && outcome.status)) throw outcome;
      return { output: outcome };
    },
  };
  return { tool, calls: () => calls };
}

test("seed rules plan by priority and reach the tool with its options", async () => {
  const seen = [];
  const tool = (name) => ({ execute: async (req, opts) => { seen.push([name, opts]); return { output: name }; } });
  const o = new ReliableOrchestrator({
    planner: new RuleBasedPlanner([
      rules.keyword({ keywords: ["deep", "comprehensive"], attribute: "query", toolName: "deep_analysis", priority: 20 }),
      rules.type({ requestType: "validation", toolName: "validator", priority: 10 }),
      { name: "high_quality", priority: 30,
        conditions: [{ path: "type", op: "equals", value: "analysis" }, { path: "metadata.quality", op: "equals", value: "high" }],
        action: { toolName: "premium_analysis", toolOptions: { k: 7 } } },
    ]),
    tools: { deep_analysis: tool("deep"), validator: tool("validator"), premium_analysis: tool("premium") },
  });
  assert.equal((await o.run({ type: "analysis", query: "x", metadata: { quality: "high" } })).toolName, "premium_analysis");
  assert.deepEqual(seen.at(-1), ["premium", { k: 7 }]);
  assert.equal((await o.run({ type: "validation", query: "Comprehensive" })).toolName, "deep_analysis");
  assert.equal((await o.run("go deep")).toolName, "deep_analysis");
  assert.equal((await o.run({ type: "validation" }, { toolOptions: { k: 5 } })).toolName, "validator");
  assert.deepEqual(seen.at(-1), ["validator", { k: 5 }]);
  await assert.rejects(o.run({ type: "other" }), (e) => e instanceof OrchestratorError && e.code === "no_tool");
  await assert.rejects(o.run({}, { toolName: "nope" }), (e) => e.code === "unknown_tool");
});

test("retries with measured backoff, honouring Retry-After", async () => {
  const { tool, calls } = counting([{ status: 503 }, Object.assign(new Error("slow down"), { status: 429, headers: { "retry-after": "0.15" } }), "done"]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], reliability: { retryPolicy: fast } });
  const started = performance.now();
  const r = await o.run("q");
  const took = performance.now() - started;
  assert.equal(r.output, "done");
  assert.equal(r.attempts, 3);
  assert.equal(calls(), 3);
  // A lower bound only: the waits really happened (an upper bound on wall time would flake on
  // a busy machine; the delays themselves are checked exactly in the native suite).
  assert.ok(took >= 155, `10 ms backoff + 150 ms Retry-After, took ${took}`);
});

test("a Retry-After past maxDelay goes to the fallback without waiting", async () => {
  const { tool: a } = counting([{ status: 429, retryAfterMs: 60_000 }], "openai");
  const { tool: b } = counting(["from b"], "anthropic");
  const events = [];
  const o = new ReliableOrchestrator({ tools: { a, b }, defaultTools: ["a", "b"], reliability: { retryPolicy: fast }, onEvent: (e) => events.push(e) });
  const r = await o.run("q");
  assert.equal(r.toolName, "b");
  // Not slept through: no retry was scheduled (a 60 s wait would also time the test out).
  assert.deepEqual(events.filter((e) => e.type === "retry"), []);
  const fallback = events.find((e) => e.type === "fallback");
  assert.deepEqual([fallback.from, fallback.to, fallback.reason], ["a", "b", "retry_after_too_long"]);
});

test("errors are Error subclasses with their fields, ids and causes", async () => {
  const thrown = Object.assign(new Error("bad request"), { status: 400 });
  const { tool, calls } = counting([thrown]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], reliability: { retryPolicy: fast } });
  const e = await o.run("q", { traceId: "trace-456", requestId: "req-1" }).catch((x) => x);
  assert.ok(e instanceof ToolExecutionError && e instanceof OrchestratorError && e instanceof Error);
  assert.equal(e.name, "ToolExecutionError");
  assert.deepEqual([e.code, e.toolName, e.attempts, e.category, e.status], ["tool_failed", "t", 1, "client", 400]);
  assert.equal(e.cause, thrown);
  assert.deepEqual([e.traceId, e.requestId], ["trace-456", "req-1"]);
  assert.equal(calls(), 1, "non-retryable: no retry");
  assert.ok(!(e instanceof BudgetExceeded) && !(e instanceof ConflictError));
});

test("budgets stop the run and keep what was paid for", async () => {
  const { tool } = counting([() => ({ output: "answer", usage: { prompt_tokens: 700, completion_tokens: 400 }, costUsd: 0.02 })]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"] });
  const e = await o.run("q", { budget: { tokens: 1000 } }).catch((x) => x);
  assert.ok(e instanceof BudgetExceeded);
  assert.deepEqual([e.budgetType, e.limit, e.spent, e.output], ["tokens", 1000, 1100, "answer"]);
});

test("50 concurrent runs with one key execute once through memoryStore", async () => {
  let calls = 0;
  const tool = { execute: async () => { calls++; await new Promise((r) => setTimeout(r, 20)); return { output: { n: calls } }; } };
  const events = [];
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], store: memoryStore(), onEvent: (e) => events.push(e) });
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => o.run({ q: 1 }, { idempotencyKey: "analysis-123", requestId: `r${i}` })));
  assert.equal(calls, 1);
  assert.equal(results.filter((r) => r.cached).length, 49);
  assert.ok(results.every((r) => r.output.n === 1));
  assert.equal(results[7].requestId, "r7");
  assert.equal(events.filter((e) => e.type === "idempotency" && e.outcome === "joined").length, 49);
  const replay = await o.run({ q: 1 }, { idempotencyKey: "analysis-123" });
  assert.equal(replay.cached, true);
  const conflict = await o.run({ q: 2 }, { idempotencyKey: "analysis-123" }).catch((x) => x);
  assert.ok(conflict instanceof ConflictError);
  assert.deepEqual([conflict.key, conflict.reason], ["analysis-123", "fingerprint_mismatch"]);
  assert.equal(calls, 1);
});

test("a store that answers at once and one that answers with promises keep the same keys", async () => {
  // A Store may answer with values or with promises (memoryStore's methods are async, as the
  // contract has them); the bindings take a plain value without a promise hop.
  const inner = memoryStore();
  const entries = new Map();
  const sync = {
    get: (k) => entries.get(k) ?? null,
    put: (k, v) => void entries.set(k, v),
    delete: (k) => void entries.delete(k),
    putIfAbsent: (k, v) => (entries.has(k) ? false : (entries.set(k, v), true)),
  };
  const promised = Object.fromEntries(["get", "put", "delete", "putIfAbsent", "compareAndSwap"].map((m) => [m, async (...args) => inner[m](...args)]));
  const outcomes = [];
  for (const store of [sync, promised]) {
    let calls = 0;
    const tool = { execute: async (r) => { calls++; await new Promise((done) => setTimeout(done, 5)); return { output: { r, calls } }; } };
    const events = [];
    const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], store, onEvent: (e) => e.type === "idempotency" && events.push(e.outcome) });
    const joined = await Promise.all(Array.from({ length: 10 }, () => o.run({ q: 1 }, { idempotencyKey: "k1" })));
    const replay = await o.run({ q: 1 }, { idempotencyKey: "k1" });
    const conflict = await o.run({ q: 2 }, { idempotencyKey: "k1" }).catch((e) => e.reason);
    const failed = await o.run({ q: 3 }, { idempotencyKey: "k2", toolName: "t", validate: () => false }).catch((e) => e.code);
    const retried = await o.run({ q: 3 }, { idempotencyKey: "k2" });
    // Sorted: when the leader reports its miss (before or after the joins) is the store's timing.
    outcomes.push({ calls, cached: joined.filter((r) => r.cached).length, replay: [replay.cached, replay.output], conflict, failed, retried: retried.cached, events: events.sort() });
  }
  assert.deepEqual(outcomes[0], outcomes[1]);
  assert.equal(outcomes[0].cached, 9);
});

test("breakers open, route to the fallback, half-open and close on real time", async () => {
  let healthy = false;
  const a = { provider: "openai", execute: async () => { if (!healthy) throw { status: 503 }; return { output: "a" }; } };
  const b = { provider: "anthropic", execute: async () => ({ output: "b" }) };
  const transitions = [];
  const o = new ReliableOrchestrator({
    tools: { a, b }, defaultTools: ["a", "b"],
    reliability: { retryPolicy: { ...fast, maxAttempts: 1 }, circuitBreakers: { openai: { failureThreshold: 2, timeout: 0.1 } } },
    onEvent: (e) => e.type === "breaker" && transitions.push(`${e.from}->${e.to}`),
  });
  await o.run("q");
  await o.run("q");
  assert.equal(o.circuitStates().openai.state, "open");
  assert.equal((await o.run("q")).toolName, "b");
  healthy = true;
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(o.circuitStates().openai.state, "half_open");
  assert.equal((await o.run("q")).toolName, "a");
  assert.equal(o.circuitStates().openai.state, "closed");
  assert.deepEqual(transitions, ["closed->open", "open->half_open", "half_open->closed"]);
  const exported = o.exportState();
  assert.equal(typeof exported, "object");
  assert.equal(exported.breakers.openai.state, "closed");
});

test("AbortSignal and timeouts reject with their codes", async () => {
  const hang = { execute: (req, opts, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))) };
  const o = new ReliableOrchestrator({ tools: { t: hang }, defaultTools: ["t"], reliability: { retryPolicy: fast } });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("user cancelled")), 20);
  const aborted = await o.run("q", { signal: controller.signal }).catch((x) => x);
  assert.deepEqual([aborted.code, aborted.cause.message], ["aborted", "user cancelled"]);
  const timedOut = await o.run("q", { timeoutMs: 30 }).catch((x) => x);
  assert.equal(timedOut.code, "timeout");
  const attempt = await o.run("q", { attemptTimeoutMs: 10 }).catch((x) => x);
  assert.deepEqual([attempt.category, attempt.attempts], ["timeout", 3]);
});

test("trace ids reach tools and results", async () => {
  let ctxSeen;
  const o = new ReliableOrchestrator({ tools: { t: { execute: (r, o, ctx) => { ctxSeen = ctx; return { output: 1 }; } } }, defaultTools: ["t"] });
  const r = await o.run("q");
  assert.match(r.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(r.traceId, r.requestId);
  assert.equal(ctxSeen.traceparent.slice(3, 35), r.requestId.replaceAll("-", ""));
  const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  assert.equal((await o.run("q", { traceparent: incoming })).traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
});

test("snake_case configuration from the Python guide works unchanged", async () => {
  const { tool, calls } = counting([{ status: 500 }, "ok"]);
  const o = new ReliableOrchestrator({
    tools: { t: tool }, default_tools: ["t"],
    reliability: { retry_policy: { max_attempts: 2, initial_delay: 0.01, max_delay: 1, backoff_factor: 2, respect_retry_after: true }, circuit_breakers: { p: { failure_threshold: 5, timeout: 60, window_size: 300 } }, idempotency_ttl_ms: 1000 },
  });
  assert.equal((await o.run("q", { idempotency_key: "k", tool_name: "t" })).output, "ok");
  assert.equal(calls(), 2);
});
