// Built-in provider tools and bundles from the packed package, over real fetch, against the
// repo's mock provider on 127.0.0.1: both wire formats, Retry-After honoured (measured),
// 5xx then fallback when the breaker opens, timeouts, malformed JSON, trace headers, bundle
// early stop counted in the mock's request log, and API keys kept out of everything.
import { test } from "node:test";
import { ownMock } from "./helpers.mjs";
import assert from "node:assert/strict";
import {
  ReliableOrchestrator, openaiChat, anthropicMessages, bundle, memoryStore,
  OrchestratorError, ToolExecutionError,
} from "reliable-orchestrator";


const KEY = "sk-live-0123456789abcdefXYZ";
const mock = ownMock();

const fast = { maxAttempts: 3, initialDelay: 0.01, maxDelay: 5, jitter: 0 };

function orchestrator(extra = {}) {
  const events = [];
  const o = new ReliableOrchestrator({
    tools: {
      gpt: openaiChat({ apiKey: KEY, model: "gpt-4o-mini", baseUrl: `${mock.url}/v1`, maxTokens: 64 }),
      claude: anthropicMessages({ api_key: KEY, model: "claude-3-5-haiku-latest", base_url: `${mock.url}/v1` }),
      ...extra.tools,
    },
    defaultTools: extra.defaultTools ?? ["gpt", "claude"],
    reliability: { retryPolicy: fast, ...extra.reliability },
    store: extra.store,
    onEvent: (e) => events.push(e),
  });
  return { o, events };
}

test("both wire formats answer with usage and cost", async () => {
  const { o } = orchestrator();
  const a = await o.run({ query: "capital of France?", system: "brief" }, { toolName: "gpt" });
  assert.equal(a.output, "Answer to: capital of France?");
  assert.equal(a.usage.totalTokens, a.usage.promptTokens + a.usage.completionTokens);
  assert.ok(a.costUsd > 0 && a.costUsd < 0.001, String(a.costUsd));
  const b = await o.run("capital of Italy?", { toolName: "claude", toolOptions: { maxTokens: 10 } });
  assert.equal(b.output, "Answer to: capital of Italy?");
  assert.ok(b.usage.promptTokens > 0 && b.costUsd > 0);
  const [openaiCall, anthropicCall] = mock.log();
  assert.equal(openaiCall.format, "openai");
  assert.equal(openaiCall.headers.authorization, `Bearer ${KEY}`);
  assert.deepEqual(openaiCall.body.messages[0], { role: "system", content: "brief" });
  assert.equal(anthropicCall.headers["x-api-key"], KEY);
  assert.equal(anthropicCall.headers["anthropic-version"], "2023-06-01");
  assert.equal(anthropicCall.body.max_tokens, 10);
});

test("trace headers reach the provider", async () => {
  const { o } = orchestrator();
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const r = await o.run("q", { toolName: "gpt", traceId, requestId: "req-42" });
  assert.equal(r.traceId, traceId);
  const [call] = mock.log();
  assert.match(call.headers.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  assert.equal(call.headers["x-request-id"], "req-42");
});

test("429 with Retry-After is honoured: the measured wait is the server's", async () => {
  const { o, events } = orchestrator();
  mock.fault({ kind: "rate_limit", format: "openai", retryAfter: 1 });
  const started = performance.now();
  const r = await o.run("q", { toolName: "gpt" });
  const elapsed = performance.now() - started;
  assert.equal(r.attempts, 2);
  assert.deepEqual(events.filter((e) => e.type === "retry").map((e) => [e.delayMs, e.reason]), [[1000, "rate_limit"]]);
  assert.ok(elapsed >= 990, `waited ${elapsed} ms`);
  const [first, second] = mock.log();
  assert.ok(second.at - first.at >= 990, `requests ${second.at - first.at} ms apart`);

  // An HTTP-date works too (whole seconds, so the wait lies within a second of it).
  mock.reset();
  mock.fault({ kind: "rate_limit", format: "openai", retryAfterDate: 2 });
  const r2 = await o.run("q", { toolName: "gpt" });
  assert.equal(r2.attempts, 2);
  const delay = events.filter((e) => e.type === "retry").at(-1).delayMs;
  assert.ok(delay > 900 && delay <= 2000, `date hint gave ${delay} ms`);
});

test("a hint longer than maxDelay is not slept through: the fallback answers", async () => {
  const { o, events } = orchestrator();
  mock.fault({ kind: "rate_limit", format: "openai", retryAfter: 60 });
  const r = await o.run("q");
  assert.equal(r.toolName, "claude");
  assert.deepEqual(events.filter((e) => e.type === "retry"), [], "the 60 s hint was not slept through");
  assert.deepEqual(events.filter((e) => e.type === "fallback").map((e) => e.reason), ["retry_after_too_long"]);
});

test("5xx is retried, then the breaker opens and the other provider answers", async () => {
  const { o, events } = orchestrator({
    reliability: { circuitBreakers: { openai: { failureThreshold: 2, timeout: 30 } } },
  });
  mock.fault({ kind: "server", format: "openai", status: 503, count: 10 });
  const r = await o.run("q");
  assert.equal(r.toolName, "claude");
  assert.equal(r.attempts, 3);
  const formats = mock.log().map((c) => c.format);
  assert.deepEqual(formats, ["openai", "openai", "anthropic"]);
  assert.ok(events.some((e) => e.type === "breaker" && e.provider === "openai" && e.to === "open"));
  assert.equal(o.circuitStates().openai.state, "open");
  // The next run skips the open provider without calling it.
  const again = await o.run("q");
  assert.equal(again.toolName, "claude");
  assert.deepEqual(events.filter((e) => e.type === "plan").at(-1).skipped, ["gpt"]);
  assert.equal(mock.log().filter((c) => c.format === "openai").length, 2);
});

test("a slow provider times out through its abort signal", async () => {
  const { o } = orchestrator();
  // Replies slow enough that waiting for even one would show (30 s), bounds loose enough
  // that a busy machine cannot fail it (three 200 ms attempts and their backoff).
  mock.fault({ kind: "slow", format: "openai", delayMs: 30_000, count: 5 });
  const started = performance.now();
  await assert.rejects(o.run("q", { toolName: "gpt", attemptTimeoutMs: 200 }), (e) => {
    assert.ok(e instanceof ToolExecutionError, String(e));
    assert.equal(e.category, "timeout");
    assert.equal(e.attempts, 3);
    return true;
  });
  assert.ok(performance.now() - started < 15_000, "did not wait for the slow replies");
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(mock.log().every((c) => c.aborted), "the requests were cancelled on the wire");
});

test("malformed JSON and dropped connections are typed, retried failures", async () => {
  const { o } = orchestrator({ reliability: { retryPolicy: { ...fast, maxAttempts: 1 } } });
  mock.fault({ kind: "malformed", format: "openai" });
  await assert.rejects(o.run("q", { toolName: "gpt" }), (e) => e instanceof ToolExecutionError && e.category === "invalid_output");
  mock.fault({ kind: "drop", format: "openai" });
  await assert.rejects(o.run("q", { toolName: "gpt" }), (e) => e instanceof ToolExecutionError && e.category === "network");
  mock.fault([{ kind: "malformed", format: "openai" }, { kind: "drop", format: "openai" }]);
  const { o: retrying } = orchestrator();
  const r = await retrying.run("q", { toolName: "gpt" });
  assert.equal(r.attempts, 3);
});

test("API keys never reach errors, events or stored records", async () => {
  const base = memoryStore();
  const written = [];
  const store = {
    get: (k) => base.get(k),
    put: (k, v, o) => { written.push(k, v); return base.put(k, v, o); },
    delete: (k) => base.delete(k),
  };
  const { o, events } = orchestrator({ store, reliability: { idempotencyEnabled: true } });
  mock.fault({ kind: "unauthorized", format: "openai" });
  const error = await o.run("q", { toolName: "gpt", idempotencyKey: "k1" }).catch((e) => e);
  assert.ok(error instanceof ToolExecutionError);
  assert.equal(error.category, "client");
  assert.equal(mock.log()[0].status, 401);
  await o.run("q", { toolName: "claude", idempotencyKey: "k2" });
  assert.ok(written.some((v) => v.includes("Answer to: q")), "the completed record was written");
  const seen = JSON.stringify({
    message: error.message, cause: error.cause, causeMessage: error.cause?.message, stack: error.stack, events,
    tools: orchestratorToolsJson(),
  }) + written.join("");
  for (const secret of [KEY, "0123456789abcdef", "sk-liv"]) assert.ok(!seen.includes(secret), `${secret} leaked: ${seen}`);
  assert.match(String(error.cause?.message), /invalid_api_key/);
});

function orchestratorToolsJson() {
  return [openaiChat({ apiKey: KEY, model: "m" }), bundle({ tool: anthropicMessages({ apiKey: KEY, model: "m" }) })];
}

test("a bundle stops early when replicates agree, counted in the mock's log", async () => {
  const { o } = orchestrator({
    tools: { panel: bundle({ tool: openaiChat({ model: "gpt-4o", baseUrl: `${mock.url}/v1` }), k: 5, epsilon: 0.1 }) },
  });
  const r = await o.run("capital of France?", { toolName: "panel" });
  assert.equal(r.output.consensus, "Answer to: capital of France?");
  assert.equal(r.output.agreement, 1);
  assert.equal(r.output.replicates.length, 2);
  assert.equal(mock.log().length, 2, "2 of 5 calls made");
  assert.equal(r.usage.totalTokens, r.output.replicates.reduce((n, x) => n + x.usage.totalTokens, 0));
  const spans = new Set(mock.log().map((c) => c.headers.traceparent));
  assert.equal(spans.size, 2);

  // Disagreeing replicates run to k and report it; toolOptions.k overrides per run.
  mock.reset();
  const { o: split } = orchestrator({
    tools: { panel: bundle({ tool: openaiChat({ model: "cycle:Paris|Lyon|Paris|Nice", baseUrl: `${mock.url}/v1` }), k: 5, concurrency: 1 }) },
  });
  const s = await split.run("capital?", { toolName: "panel" });
  assert.equal(mock.log().length, 5);
  assert.equal(s.output.consensus, "Paris");
  assert.equal(s.output.agreement, 0.6);
  assert.deepEqual(s.output.disagreements, ["Lyon", "Nice"]);
  mock.reset();
  await split.run("capital?", { toolName: "panel", toolOptions: { k: 1 } });
  assert.equal(mock.log().length, 1);
});

test("a cost budget with an unpriced model fails closed before any call", async () => {
  const { o } = orchestrator({ tools: { local: openaiChat({ model: "local-llama", baseUrl: `${mock.url}/v1` }) } });
  await assert.rejects(o.run("q", { toolName: "local", budget: { costUsd: 0.5 } }), (e) => {
    assert.ok(e instanceof OrchestratorError);
    assert.equal(e.code, "invalid_config");
    assert.equal(e.field, "tools.local.pricing");
    return true;
  });
  assert.equal(mock.log().length, 0);
  const r = await o.run("q", { toolName: "local" });
  assert.equal(r.costUsd, null);
});

test("bad built-in tool config names the field", () => {
  const bad = [
    [{ gpt: openaiChat({ model: "" }) }, "tools.gpt.model"],
    [{ gpt: openaiChat({ model: "m", baseUrl: "file:///etc" }) }, "tools.gpt.baseUrl"],
    [{ b: bundle({ tool: openaiChat({ model: "m" }), k: 0 }) }, "tools.b.k"],
    [{ b: bundle({ tool: { nope: true } }) }, "tools.b.tool.execute"],
    [{ b: bundle({}) }, "tools.b.tool"],
  ];
  for (const [tools, field] of bad) {
    assert.throws(() => new ReliableOrchestrator({ tools }), (e) => e instanceof OrchestratorError && e.field === field, field);
  }
});
