// Bad input never traps the wasm instance: every case is a typed error naming the problem,
// and the same instance keeps working afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, OrchestratorError, ToolExecutionError } from "reliable-orchestrator";

test("bad configuration names the field", () => {
  const cases = [
    [{ tools: {}, reliability: { retryPolicy: { maxAttempts: 0 } } }, "reliability.retryPolicy.maxAttempts"],
    [{ tools: {}, reliability: { retryPolicy: { initialDelay: NaN } } }, "reliability.retryPolicy.initialDelay"],
    [{ tools: {}, reliability: { retryPolicy: { initialDelay: -1 } } }, "reliability.retryPolicy.initialDelay"],
    [{ tools: {}, reliability: { retryPolicy: { initialDelay: 5, maxDelay: 1 } } }, "reliability.retryPolicy.maxDelay"],
    [{ tools: {}, reliability: { retryPolicy: { backoffFactor: 0.5 } } }, "reliability.retryPolicy.backoffFactor"],
    [{ tools: {}, reliability: { retryPolicy: { jitter: 2 } } }, "reliability.retryPolicy.jitter"],
    [{ tools: {}, reliability: { circuitBreakers: { openai: { failureThreshold: 1.5 } } } }, "reliability.circuitBreakers.openai.failureThreshold"],
    [{ tools: {}, reliability: { idempotencyTtlMs: 0 } }, "reliability.idempotencyTtlMs"],
    [{ tools: { t: { execute: () => ({ output: 1 }) } }, planner: [{ conditions: [{ path: "a", op: "matches" }], action: { toolName: "t" } }] }, "planner.rules[0].conditions[0].op"],
    [{ tools: { t: { execute: () => ({ output: 1 }) } }, planner: [{ conditions: [{ path: "a", op: "regex", value: "a".repeat(2000) }], action: { toolName: "t" } }] }, "planner.rules[0].conditions[0].value"],
    [{ tools: { t: { execute: () => ({ output: 1 }) } }, planner: [{ conditions: [], action: { toolName: "ghost" } }] }, "planner.rules[0].action.toolName"],
    [{ tools: { t: { execute: "not a function" } } }, "tools.t.execute"],
    [{ tools: {}, store: { get() {} } }, "store.put"],
    [{ tools: {}, onEvent: 5 }, "onEvent"],
    [null, "config"],
  ];
  for (const [config, field] of cases) {
    assert.throws(() => new ReliableOrchestrator(config), (e) => e instanceof OrchestratorError && e.code === "invalid_config" && e.field === field, JSON.stringify(config));
  }
});

test("bad run input, hostile requests and misbehaving tools are typed errors; the instance survives", async () => {
  let n = 0;
  const o = new ReliableOrchestrator({
    tools: { t: { execute: () => {
      n++;
      if (n === 1) return 42;
      if (n === 2) throw "a bare string";
      if (n === 3) throw undefined;
      if (n === 4) return { notOutput: 1 };
      return { output: "fine" };
    } } },
    defaultTools: ["t"],
    reliability: { retryPolicy: { maxAttempts: 1 } },
  });
  for (const expected of ["invalid_output", "unknown", "unknown", "invalid_output"]) {
    const e = await o.run("q").catch((x) => x);
    assert.ok(e instanceof ToolExecutionError, String(e));
    assert.equal(e.category, expected);
  }
  for (const [options, field] of [
    [{ timeoutMs: -1 }, "timeoutMs"], [{ timeoutMs: NaN }, "timeoutMs"], [{ attemptTimeoutMs: "1s" }, "attemptTimeoutMs"],
    [{ budget: { tokens: -5 } }, "budget.tokens"], [{ budget: { costUsd: Infinity } }, "budget.costUsd"],
    [{ idempotencyKey: "" }, "idempotencyKey"], [{ idempotencyKey: "k".repeat(257) }, "idempotencyKey"], [{ idempotencyKey: 5 }, "idempotencyKey"],
    [{ signal: "stop" }, "signal"], [{ toolOptions: 3n }, "toolOptions"], ["nope", "options"],
  ]) {
    const e = await o.run("q", options).catch((x) => x);
    assert.ok(e instanceof OrchestratorError, String(e));
    assert.deepEqual([e.code, e.field], ["invalid_request", field], JSON.stringify(options, (k, v) => typeof v === "bigint" ? "bigint" : v));
  }
  const cyclic = { query: "x" };
  cyclic.self = cyclic;
  let deep = {};
  for (let i = 0; i < 200_000; i++) deep = { deep };
  for (const request of [cyclic, deep, { big: 10n }]) {
    const e = await o.run(request, { idempotencyKey: "k" }).catch((x) => x);
    assert.deepEqual([e.code, e.field], ["invalid_request", "request"]);
  }
  const huge = "x".repeat(5_000_000);
  assert.equal((await o.run({ query: huge })).output, "fine");
  assert.equal((await o.run(cyclic)).output, "fine", "the same instance still works");
  assert.equal((await o.run(undefined)).output, "fine");
});
