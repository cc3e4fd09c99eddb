// Property-based fuzzing of the packed package with fast-check: arbitrary configurations,
// requests, options and tool behaviours end in a result or a typed error (an Error subclass
// with a code), never a wasm trap, and the same instance keeps working afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ReliableOrchestrator, OrchestratorError, memoryStore } from "reliable-orchestrator";

const RUNS = Number(process.env.RO_FUZZ_RUNS ?? 300);
// A fixed seed by default, so the suite is the same every time; RO_SEED picks another (a
// failure prints the seed and path that replay it).
const SEED = Number(process.env.RO_SEED ?? 20261201);
fc.configureGlobal({ seed: SEED });
console.log(`fast-check seed: RO_SEED=${SEED}`);

function assertTyped(error) {
  assert.ok(!(error instanceof WebAssembly.RuntimeError), `wasm trap: ${error?.stack ?? error}`);
  assert.ok(error instanceof OrchestratorError, `untyped error: ${error?.stack ?? String(error)}`);
  assert.equal(typeof error.code, "string");
}

async function stillWorks(o) {
  const r = await o.run("health check", { toolName: "sane" });
  assert.equal(r.output, "sane");
}

// Values JS code hands over: JSON-ish, numbers at the edges, and things JSON cannot hold.
const weird = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 53 + 1, -1, 1e308, "", "__proto__", null, undefined),
  fc.constant(Symbol("s")),
  fc.constant(() => 1),
  fc.constant(10n),
  fc.constant(new Date(0)),
);
const anyValue = fc.oneof({ weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: weird }, {
  weight: 1,
  arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.jsonValue({ maxDepth: 2 }), weird), { maxKeys: 5 }),
});

const retryPolicy = fc.record({
  maxAttempts: fc.oneof(fc.integer({ min: -2, max: 5 }), anyValue),
  initialDelay: fc.oneof(fc.double({ min: -1, max: 0.01, noNaN: false }), anyValue),
  maxDelay: fc.oneof(fc.double({ min: 0, max: 0.02 }), anyValue),
  backoffFactor: fc.oneof(fc.double({ min: 0, max: 3 }), anyValue),
  jitter: fc.oneof(fc.double({ min: -1, max: 2 }), anyValue),
}, { requiredKeys: [] });

const config = fc.record({
  planner: fc.oneof(anyValue, fc.array(fc.record({
    name: fc.oneof(fc.string(), anyValue),
    priority: fc.oneof(fc.integer(), anyValue),
    conditions: fc.oneof(anyValue, fc.array(fc.record({
      path: fc.oneof(fc.constantFrom("query", "type", "metadata.quality", "items.0", ""), anyValue),
      op: fc.oneof(fc.constantFrom("equals", "not_equals", "contains", "in", "exists", "regex", "gt", "lte", "nope"), anyValue),
      value: anyValue,
    }, { requiredKeys: [] }), { maxLength: 3 })),
    action: fc.oneof(anyValue, fc.record({ toolName: fc.constantFrom("sane", "flaky", "ghost"), toolOptions: anyValue }, { requiredKeys: [] })),
  }, { requiredKeys: [] }), { maxLength: 3 })),
  defaultTools: fc.oneof(anyValue, fc.constant(["flaky", "sane"])),
  reliability: fc.oneof(anyValue, fc.record({
    retryPolicy: fc.oneof(anyValue, retryPolicy),
    circuitBreakers: fc.oneof(anyValue, fc.record({ default: fc.record({ failureThreshold: anyValue, timeout: anyValue }, { requiredKeys: [] }) })),
    idempotencyEnabled: fc.oneof(fc.boolean(), anyValue),
    idempotencyTtlMs: anyValue,
    attemptTimeoutMs: anyValue,
  }, { requiredKeys: [] })),
}, { requiredKeys: [] });

// A tool whose behaviour is drawn per call: return anything, throw anything, hang, or be slow.
const behaviour = fc.oneof(
  fc.record({ kind: fc.constant("return"), value: anyValue }),
  fc.record({ kind: fc.constant("resolve"), value: fc.record({ output: anyValue, usage: anyValue, costUsd: anyValue }, { requiredKeys: ["output"] }) }),
  fc.record({ kind: fc.constant("throw"), value: fc.oneof(anyValue, fc.record({ status: anyValue, retryable: anyValue, retryAfterMs: anyValue, headers: anyValue }, { requiredKeys: [] })) }),
  fc.record({ kind: fc.constant("reject-error"), status: fc.oneof(fc.integer({ min: 100, max: 600 }), anyValue) }),
  fc.record({ kind: fc.constant("hang") }),
);

function flakyTool(behaviours, calls = { n: 0 }) {
  let n = 0;
  return {
    provider: "fuzz",
    execute: (request, options, ctx) => {
      calls.n += 1;
      const b = behaviours[n++ % behaviours.length];
      switch (b.kind) {
        case "return": return b.value;
        case "resolve": return Promise.resolve(b.value);
        case "throw": throw b.value;
        case "reject-error": return Promise.reject(Object.assign(new Error("boom"), { status: b.status }));
        default: return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      }
    },
  };
}

const saneTool = { provider: "sane", execute: async () => ({ output: "sane" }) };

test("arbitrary configurations are accepted or rejected with invalid_config, never a trap", () => {
  fc.assert(fc.property(config, (cfg) => {
    try {
      new ReliableOrchestrator({ ...cfg, tools: { sane: saneTool, flaky: flakyTool([{ kind: "return", value: { output: 1 } }]) } });
    } catch (e) {
      assertTyped(e);
      assert.equal(e.code, "invalid_config");
    }
  }), { numRuns: RUNS * 3 });
});

const fuzzedOrchestrator = (behaviours, calls) => new ReliableOrchestrator({
  tools: { sane: saneTool, flaky: flakyTool(behaviours, calls) },
  defaultTools: ["flaky", "sane"],
  reliability: { retryPolicy: { maxAttempts: 2, initialDelay: 0, maxDelay: 0.001 }, idempotencyEnabled: true, attemptTimeoutMs: 20 },
  store: memoryStore(),
});

test("arbitrary run options are used or rejected with invalid_request; the instance keeps working", async () => {
  const options = fc.record({
    toolName: fc.oneof(fc.constantFrom("sane", "flaky", "ghost"), anyValue),
    toolOptions: anyValue,
    idempotencyKey: fc.oneof(fc.string({ maxLength: 300 }), anyValue),
    traceId: anyValue,
    requestId: anyValue,
    traceparent: anyValue,
    budget: fc.oneof(anyValue, fc.record({ tokens: anyValue, costUsd: anyValue, timeMs: anyValue }, { requiredKeys: [] })),
    timeoutMs: fc.oneof(fc.integer({ min: -5, max: 50 }), anyValue),
    attemptTimeoutMs: fc.oneof(fc.integer({ min: -5, max: 20 }), anyValue),
  }, { requiredKeys: [] });
  const o = fuzzedOrchestrator([{ kind: "resolve", value: { output: "x" } }]);
  await fc.assert(fc.asyncProperty(anyValue, fc.oneof(options, anyValue), async (request, opts) => {
    try {
      await o.run(request, opts);
    } catch (e) {
      assertTyped(e);
    }
    await stillWorks(o);
  }), { numRuns: RUNS });
});

test("arbitrary requests and tool behaviours (returns, throws, hangs) end typed; the instance keeps working", async () => {
  const calls = { n: 0 };
  const outcomes = {};
  const validOptions = fc.record({
    toolName: fc.constantFrom("sane", "flaky"),
    idempotencyKey: fc.string({ minLength: 1, maxLength: 20 }),
    budget: fc.record({ tokens: fc.integer({ min: 0, max: 1000 }), costUsd: fc.double({ min: 0, max: 1, noNaN: true }) }, { requiredKeys: [] }),
    timeoutMs: fc.integer({ min: 1, max: 60 }),
    traceId: fc.string({ maxLength: 40 }),
  }, { requiredKeys: [] });
  await fc.assert(fc.asyncProperty(anyValue, validOptions, fc.array(behaviour, { minLength: 1, maxLength: 4 }), async (request, opts, behaviours) => {
    const o = fuzzedOrchestrator(behaviours, calls);
    try {
      const r = await o.run(request, opts);
      assert.equal(typeof r.toolName, "string");
      outcomes.ok = (outcomes.ok ?? 0) + 1;
    } catch (e) {
      assertTyped(e);
      outcomes[e.code] = (outcomes[e.code] ?? 0) + 1;
    }
    await stillWorks(o);
  }), { numRuns: RUNS });
  // The property must reach the tools, not stop at validation. About half the runs do; the
  // bound sits far below that so another seed does not fail by chance.
  assert.ok(calls.n >= RUNS / 5, `tools were called only ${calls.n} times: ${JSON.stringify(outcomes)}`);
  assert.ok((outcomes.ok ?? 0) > 0 && (outcomes.tool_failed ?? 0) > 0, JSON.stringify(outcomes));
});
