// The official SDKs as orchestrator JS tools (their own retries off), against the mock
// provider: how each failure the SDKs throw is classified (category), how often the provider
// was called, the retry waits (Retry-After / retry-after-ms honoured exactly), and what the
// provider's circuit breaker counted. The matrix in README.md ("Using the official SDKs as
// tools") is this file's table.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { generateText } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { ReliableOrchestrator, OrchestratorError, ToolExecutionError } from "reliable-orchestrator";

const { startMockProvider } = await import(`${process.env.RO_ROOT}/mock-provider/server.mjs`);

// A shared mock (RO_MOCK_URL) or one of our own. Faults and log entries are scoped by model
// name, unique per case, so files running in parallel on one mock do not meet.
let mock;
before(async () => {
  const url = process.env.RO_MOCK_URL;
  if (url) {
    mock = {
      url,
      fault: (f) => fetch(`${url}/__mock/faults`, { method: "POST", body: JSON.stringify(f) }),
      log: async () => (await fetch(`${url}/__mock/log`)).json(),
      close: async () => {},
    };
  } else {
    const own = await startMockProvider({ idleMs: 120_000 });
    mock = { ...own, log: async () => own.log() };
  }
});
after(async () => { await mock?.close(); });

/** A base URL nobody listens on. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const text = (content) => content.filter((b) => b.type === "text").map((b) => b.text).join("");

// Each SDK as a tool: `make(origin, model, clientOptions, signalFor)` returns the tool. The
// SDK's own retries are 0: the orchestrator retries, and its breaker sees every failure.
const SDKS = {
  openai: (origin, model, extra) => {
    const client = new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/v1`, maxRetries: 0, ...extra });
    return {
      provider: "openai",
      execute: async (req, _opts, ctx) => {
        const r = await client.chat.completions.create(
          { model, messages: [{ role: "user", content: String(req) }] },
          { signal: ctx.signal },
        );
        return { output: r.choices[0].message.content, usage: r.usage };
      },
    };
  },
  anthropic: (origin, model, extra) => {
    const client = new Anthropic({ apiKey: "sk-ant-test", baseURL: `${origin}/v1`, maxRetries: 0, ...extra });
    return {
      provider: "anthropic",
      execute: async (req, _opts, ctx) => {
        const r = await client.messages.create(
          { model, max_tokens: 64, messages: [{ role: "user", content: String(req) }] },
          { signal: ctx.signal },
        );
        return { output: text(r.content), usage: r.usage };
      },
    };
  },
  // The AI SDK has no client-level timeout: "the SDK's own timeout" is an AbortSignal.timeout.
  "ai+openai": (origin, model, extra) => {
    const provider = createOpenAI({ apiKey: "sk-test", baseURL: `${origin}/v1` });
    return aiTool("ai-openai", provider.chat(model), extra);
  },
  "ai+anthropic": (origin, model, extra) => {
    const provider = createAnthropic({ apiKey: "sk-ant-test", baseURL: `${origin}/v1` });
    return aiTool("ai-anthropic", provider(model), extra);
  },
};

function aiTool(provider, model, extra) {
  return {
    provider,
    execute: async (req, _opts, ctx) => {
      const signal = extra.timeout ? AbortSignal.any([ctx.signal, AbortSignal.timeout(extra.timeout)]) : ctx.signal;
      const r = await generateText({ model, prompt: String(req), maxRetries: extra.maxRetries ?? 0, abortSignal: signal });
      return { output: r.text, usage: { promptTokens: r.usage.inputTokens, completionTokens: r.usage.outputTokens } };
    },
  };
}

const policy = { maxAttempts: 2, initialDelay: 0.01, maxDelay: 5, jitter: 0 };

// category: the error's; calls: requests the mock saw; delays: retry waits (ms); failures:
// what the breaker counted. `null` category: the run succeeded.
const CASES = [
  { name: "429 + retry-after: 1", fault: { kind: "rate_limit", retryAfter: 1 }, category: "rate_limit", calls: 2, delays: [1000], failures: 2 },
  { name: "429 + retry-after-ms: 250", fault: { kind: "rate_limit", retryAfterMs: 250, retryAfter: 7 }, category: "rate_limit", calls: 2, delays: [250], failures: 2 },
  { name: "500", fault: { kind: "server", status: 500 }, category: "server", calls: 2, delays: [10], failures: 2 },
  { name: "503", fault: { kind: "server", status: 503 }, category: "server", calls: 2, delays: [10], failures: 2 },
  { name: "529 overloaded", fault: { kind: "server", status: 529 }, category: "server", calls: 2, delays: [10], failures: 2 },
  { name: "400", fault: { kind: "status", status: 400 }, category: "client", calls: 1, delays: [], failures: 0 },
  { name: "401", fault: { kind: "unauthorized" }, category: "client", calls: 1, delays: [], failures: 0 },
  { name: "404", fault: { kind: "status", status: 404 }, category: "client", calls: 1, delays: [], failures: 0 },
  { name: "connection refused", refused: true, category: "network", calls: 0, delays: [10], failures: 2 },
  { name: "dropped socket", fault: { kind: "drop" }, category: "network", calls: 2, delays: [10], failures: 2 },
  { name: "malformed body", fault: { kind: "malformed" }, category: "invalid_output", calls: 2, delays: [10], failures: 2 },
  { name: "slow + attemptTimeoutMs", fault: { kind: "slow", delayMs: 3000 }, run: { attemptTimeoutMs: 150 }, category: "timeout", calls: 2, delays: [10], failures: 2 },
  { name: "slow + the SDK's timeout", fault: { kind: "slow", delayMs: 3000 }, client: { timeout: 150 }, category: "timeout", calls: 2, delays: [10], failures: 2 },
  { name: "user abort", fault: { kind: "slow", delayMs: 3000 }, abortAfterMs: 100, aborted: true, calls: 1, delays: [], failures: 0 },
];

let serial = 0;
// Unique per process too, so a mock shared across runs (a long-lived RO_MOCK_URL) holds no look-alikes.
const RUN = `${process.pid}-${Date.now().toString(36)}`;
for (const [sdk, make] of Object.entries(SDKS)) {
  for (const c of CASES) {
    test(`${sdk}: ${c.name}`, async () => {
      const model = `m-${RUN}-${sdk}-${++serial}`;
      const origin = c.refused ? await closedPort() : mock.url;
      if (c.fault) await mock.fault({ ...c.fault, model, count: policy.maxAttempts });
      const tool = make(origin, model, c.client ?? {});
      const events = [];
      const o = new ReliableOrchestrator({
        tools: { llm: tool },
        reliability: { retryPolicy: policy, circuitBreakers: { default: { failureThreshold: 50 } } },
        onEvent: (e) => events.push(e),
      });
      const signal = c.abortAfterMs ? AbortSignal.timeout(c.abortAfterMs) : undefined;
      const outcome = await o.run("hello", { toolName: "llm", signal, ...c.run }).then((r) => ({ r }), (e) => ({ e }));
      assert.ok(outcome.e, `expected a failure, got ${JSON.stringify(outcome.r)}`);
      if (c.aborted) {
        assert.ok(outcome.e instanceof OrchestratorError && outcome.e.code === "aborted", String(outcome.e));
      } else {
        assert.ok(outcome.e instanceof ToolExecutionError, String(outcome.e));
        assert.equal(outcome.e.category, c.category, `${outcome.e.message} (cause: ${outcome.e.cause?.constructor?.name}: ${outcome.e.cause?.message})`);
        assert.equal(outcome.e.attempts, c.delays.length + 1);
      }
      const calls = (await mock.log()).filter((entry) => entry.model === model);
      assert.equal(calls.length, c.calls, "provider calls");
      assert.deepEqual(events.filter((e) => e.type === "retry").map((e) => e.delayMs), c.delays, "retry delays");
      assert.equal(o.circuitStates()[tool.provider].failures, c.failures, "breaker failures");
    });
  }
}

test("ai: an AI SDK RetryError is unwrapped to its last error", async () => {
  const model = `m-${RUN}-retry-${++serial}`;
  // A 429 with retry-after-ms: 10, which the AI SDK's own retry honours too (no 2 s backoff).
  await mock.fault({ kind: "rate_limit", retryAfterMs: 10, model, count: 4 });
  const provider = createOpenAI({ apiKey: "sk-test", baseURL: `${mock.url}/v1` });
  const tool = aiTool("ai-openai", provider.chat(model), { maxRetries: 1 });
  const o = new ReliableOrchestrator({ tools: { llm: tool }, reliability: { retryPolicy: policy } });
  await assert.rejects(o.run("hello", { toolName: "llm" }), (e) => {
    assert.equal(e.cause?.name, "AI_RetryError");
    assert.equal(e.category, "rate_limit");
    assert.equal(e.status, 429);
    return true;
  });
  // 2 orchestrator attempts x 2 AI SDK calls: the multiplication the README warns about.
  assert.equal((await mock.log()).filter((entry) => entry.model === model).length, 4);
});

test("a success through each SDK", async () => {
  for (const [sdk, make] of Object.entries(SDKS)) {
    const o = new ReliableOrchestrator({ tools: { llm: make(mock.url, `ok-${sdk}`, {}) } });
    const r = await o.run("hello", { toolName: "llm" });
    assert.equal(r.output, "Answer to: hello", sdk);
    assert.ok(r.usage.promptTokens > 0 && r.usage.completionTokens > 0, sdk);
  }
});
