// The AI SDK adapters (aiSdkTool, reliableModel) with the real `ai` and @ai-sdk providers, and
// otelListener with OpenTelemetry's in-memory exporter.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateText, streamText } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import {
  ReliableOrchestrator, aiSdkTool, reliableModel, otelListener, w3cTraceId, openaiChat, ToolExecutionError,
} from "reliable-orchestrator";

const { startMockProvider } = await import(`${process.env.RO_ROOT}/mock-provider/server.mjs`);

let mock;
before(async () => { mock = await startMockProvider({ idleMs: 120_000 }); });
after(async () => { await mock?.close(); });

const fast = { maxAttempts: 3, initialDelay: 0.01, maxDelay: 5, jitter: 0 };
const usage = { promptTokens: 3, completionTokens: 5 };

test("aiSdkTool: an @ai-sdk/openai model as a tool, with usage, message, trace headers and a honoured retry-after-ms", async () => {
  const openai = createOpenAI({ apiKey: "sk-test", baseURL: `${mock.url}/v1` });
  const events = [];
  const o = new ReliableOrchestrator({
    tools: { gpt: aiSdkTool(openai.chat("ai-tool-1")) },
    reliability: { retryPolicy: fast },
    onEvent: (e) => events.push(e),
  });
  assert.equal(aiSdkTool(openai.chat("x")).provider, "openai");
  mock.fault({ kind: "rate_limit", model: "ai-tool-1", retryAfterMs: 120 });
  const r = await o.run("capital of France?", { toolName: "gpt", requestId: "req-ai-1", toolOptions: { maxTokens: 20 } });
  assert.equal(r.output, "Answer to: capital of France?");
  assert.equal(r.attempts, 2);
  assert.ok(r.usage.promptTokens > 0 && r.usage.totalTokens === r.usage.promptTokens + r.usage.completionTokens);
  assert.deepEqual(events.filter((e) => e.type === "retry").map((e) => [e.delayMs, e.reason]), [[120, "rate_limit"]]);
  const calls = mock.log().filter((c) => c.model === "ai-tool-1");
  assert.equal(calls.length, 2);
  assert.equal(calls[1].headers["x-request-id"], "req-ai-1");
  assert.match(calls[1].headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(calls[1].body.max_tokens, 20);
});

test("aiSdkTool: { messages, system } passes through (Anthropic), 401 is a client failure", async () => {
  const anthropic = createAnthropic({ apiKey: "sk-ant-test", baseURL: `${mock.url}/v1` });
  const o = new ReliableOrchestrator({ tools: { claude: aiSdkTool(anthropic("ai-tool-2"), { maxOutputTokens: 33 }) }, reliability: { retryPolicy: fast } });
  const r = await o.run({ system: "be brief", messages: [{ role: "user", content: "one" }, { role: "assistant", content: "two" }, { role: "user", content: "three" }] }, { toolName: "claude" });
  assert.equal(r.output, "Answer to: three");
  const [call] = mock.log().filter((c) => c.model === "ai-tool-2");
  assert.equal(call.body.max_tokens, 33);
  assert.deepEqual(call.body.system, [{ type: "text", text: "be brief" }]);
  assert.equal(call.body.messages.length, 3);
  mock.fault({ kind: "unauthorized", model: "ai-tool-2" });
  await assert.rejects(o.run("q", { toolName: "claude" }), (e) => e instanceof ToolExecutionError && e.category === "client" && e.attempts === 1);
});

test("aiSdkTool: tool calls are normalised (output: 'message'), V3 usage is read", async () => {
  const model = {
    specificationVersion: "v3", provider: "fake.chat", modelId: "fake",
    async doGenerate(call) {
      assert.deepEqual(call.prompt, [{ role: "user", content: [{ type: "text", text: "weather?" }] }]);
      assert.deepEqual(call.tools, [{ type: "function", name: "weather", description: "w", inputSchema: { type: "object" } }]);
      return {
        content: [{ type: "tool-call", toolCallId: "c1", toolName: "weather", input: '{"city":"Paris"}' }],
        finishReason: { unified: "tool-calls", raw: "tool_calls" },
        usage: { inputTokens: { total: 7 }, outputTokens: { total: 2 } },
        warnings: [],
      };
    },
  };
  const o = new ReliableOrchestrator({ tools: { fake: aiSdkTool(model, { output: "message" }) } });
  const r = await o.run({ query: "weather?", tools: [{ name: "weather", description: "w" }] }, { toolName: "fake" });
  assert.deepEqual(r.output, { text: "", toolCalls: [{ id: "c1", name: "weather", arguments: '{"city":"Paris"}' }], refusal: null, finishReason: "tool-calls" });
  assert.deepEqual(r.usage, { promptTokens: 7, completionTokens: 2, totalTokens: 9 });
});

function flakyOrchestrator(extra = {}) {
  const events = [];
  const seen = [];
  let calls = 0;
  const o = new ReliableOrchestrator({
    tools: {
      flaky: {
        provider: "p1",
        execute: async (req, opts) => {
          seen.push({ req, opts });
          calls += 1;
          if (calls === 1) throw Object.assign(new Error("overloaded"), { status: 503, headers: { "retry-after-ms": "15" } });
          return { output: `flaky says: ${req.messages.at(-1).content}`, usage };
        },
      },
      broken: { provider: "p2", execute: async () => { throw Object.assign(new Error("down"), { status: 500 }); } },
      backup: { provider: "p3", execute: async (req) => ({ output: `backup says: ${req.messages.at(-1).content}`, usage }) },
      strict: { provider: "p4", execute: async () => { throw Object.assign(new Error("bad request"), { status: 400 }); } },
    },
    defaultTools: extra.defaultTools ?? ["flaky"],
    reliability: { retryPolicy: fast },
    onEvent: (e) => events.push(e),
  });
  return { o, events, seen };
}

test("reliableModel: generateText through the orchestrator, with a retry", async () => {
  const { o, events, seen } = flakyOrchestrator();
  const r = await generateText({ model: reliableModel(o), prompt: "hi", system: "sys", maxOutputTokens: 50, temperature: 0.5, maxRetries: 0 });
  assert.equal(r.text, "flaky says: hi");
  assert.equal(r.finishReason, "stop");
  assert.equal(r.usage.inputTokens, 3);
  assert.equal(r.usage.outputTokens, 5);
  assert.deepEqual(seen[0].req, { messages: [{ role: "user", content: "hi" }], system: "sys" });
  assert.deepEqual(seen[0].opts, { maxTokens: 50, temperature: 0.5 });
  assert.deepEqual(events.filter((e) => e.type === "retry").map((e) => [e.toolName, e.delayMs]), [["flaky", 15]]);
  assert.equal(r.providerMetadata.reliableOrchestrator.toolName, "flaky");
  assert.equal(r.providerMetadata.reliableOrchestrator.attempts, 2);
});

test("reliableModel: a fallback, and a failure the AI SDK does not retry", async () => {
  const { o, events } = flakyOrchestrator({ defaultTools: ["broken", "backup"] });
  const r = await generateText({ model: reliableModel(o), messages: [{ role: "user", content: "q1" }, { role: "assistant", content: "a1" }, { role: "user", content: "q2" }] });
  assert.equal(r.text, "backup says: q2");
  assert.deepEqual(events.filter((e) => e.type === "fallback").map((e) => [e.from, e.to, e.reason]), [["broken", "backup", "retries_exhausted"]]);

  const { o: strict, events: strictEvents } = flakyOrchestrator({ defaultTools: ["strict"] });
  // maxRetries left at the AI SDK's default (2): it must not retry an orchestrator error.
  await assert.rejects(generateText({ model: reliableModel(strict), prompt: "x" }), (e) => e instanceof ToolExecutionError && e.category === "client");
  assert.equal(strictEvents.filter((e) => e.type === "attempt").length, 1);
});

test("reliableModel: streamText, whole-run fallback and runStream", async () => {
  const { o } = flakyOrchestrator();
  const s = streamText({ model: reliableModel(o, { runOptions: { requestId: "stream-1" } }), prompt: "streamed", maxRetries: 0 });
  let streamed = "";
  for await (const delta of s.textStream) streamed += delta;
  assert.equal(streamed, "flaky says: streamed");
  assert.equal((await s.usage).outputTokens, 5);

  // An orchestrator-like object with runStream: chunks become deltas, the result the finish.
  const fake = {
    run: () => assert.fail("run must not be called when runStream exists"),
    runStream(request) {
      const chunks = ["Hel", "lo ", request.messages[0].content];
      const iterable = (async function* () { for (const text of chunks) yield { text }; })();
      iterable.result = Promise.resolve({ output: chunks.join(""), toolName: "t", attempts: 1, cached: false, usage: { promptTokens: 1, completionTokens: 3, totalTokens: 4 }, costUsd: null, traceId: "t", requestId: "r", elapsedMs: 1 });
      return iterable;
    },
  };
  const parts = [];
  const s2 = streamText({ model: reliableModel(fake), prompt: "you" });
  for await (const delta of s2.textStream) parts.push(delta);
  assert.deepEqual(parts, ["Hel", "lo ", "you"]);
  assert.equal((await s2.usage).totalTokens, 4);
});

test("reliableModel over a built-in tool against the mock", async () => {
  const o = new ReliableOrchestrator({ tools: { gpt: openaiChat({ apiKey: "k", model: "rm-builtin", baseUrl: `${mock.url}/v1` }) }, defaultTools: ["gpt"], reliability: { retryPolicy: fast } });
  mock.fault({ kind: "server", status: 503, model: "rm-builtin" });
  const r = await generateText({ model: reliableModel(o), prompt: "built in", maxRetries: 0 });
  assert.equal(r.text, "Answer to: built in");
  assert.equal(mock.log().filter((c) => c.model === "rm-builtin").length, 2);
});

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracer: provider.getTracer("test") };
}

test("otelListener: run and attempt spans in the run's trace, GenAI attributes, retries as events", async () => {
  const { exporter, tracer } = tracing();
  const tools = {
    flaky: (() => {
      let n = 0;
      return { provider: "openai", model: "gpt-x", execute: async (_req, _o, ctx) => {
        n += 1;
        if (n === 1) throw Object.assign(new Error("slow down"), { status: 429, headers: { "retry-after-ms": "5" } });
        return { output: ctx.traceparent, usage: { promptTokens: 11, completionTokens: 4 } };
      } };
    })(),
  };
  const otel = otelListener(tracer, { tools });
  const o = new ReliableOrchestrator({ tools, reliability: { retryPolicy: fast }, onEvent: otel });
  const r = await otel.wrap(o.run("q", { toolName: "flaky", traceId: "trace-456" }));
  const spans = exporter.getFinishedSpans();
  const run = spans.find((s) => s.name === "reliable_orchestrator.run");
  const attempts = spans.filter((s) => s.name === "chat gpt-x");
  assert.ok(run);
  assert.equal(attempts.length, 2);
  // The trace id the provider saw in traceparent (hashed from "trace-456") is the spans' trace id.
  const traceId = r.output.split("-")[1];
  assert.equal(w3cTraceId("trace-456"), traceId);
  for (const s of spans) assert.equal(s.spanContext().traceId, traceId);
  for (const a of attempts) assert.equal(a.parentSpanContext.spanId, run.spanContext().spanId);
  assert.equal(run.parentSpanContext.isRemote, true);
  assert.equal(attempts[0].attributes["gen_ai.system"], "openai");
  assert.equal(attempts[0].attributes["gen_ai.request.model"], "gpt-x");
  assert.equal(attempts[0].status.code, 2);
  assert.equal(attempts[0].attributes["error.type"], "rate_limit");
  assert.equal(attempts[1].status.code, 1);
  assert.equal(run.attributes["gen_ai.usage.input_tokens"], 11);
  assert.equal(run.attributes["gen_ai.usage.output_tokens"], 4);
  assert.equal(run.attributes["gen_ai.system"], "openai");
  assert.deepEqual(run.events.map((e) => [e.name, e.attributes["reliable_orchestrator.delay_ms"]]), [["retry", 5]]);
  // A 32-hex trace id (a UUID too) is used as it is.
  assert.equal(w3cTraceId("4BF92F3577B34DA6A3CE929D0E0E4736"), "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(w3cTraceId("123e4567-e89b-42d3-a456-426614174000"), "123e4567e89b42d3a456426614174000");
});

test("otelListener: fallbacks as events, a failed run records its error", async () => {
  const { exporter, tracer } = tracing();
  const otel = otelListener(tracer);
  const events = [];
  const o = new ReliableOrchestrator({
    tools: {
      broken: { provider: "p2", execute: async () => { throw Object.assign(new Error("down"), { status: 500 }); } },
      strict: { provider: "p4", execute: async () => { throw Object.assign(new Error("bad request"), { status: 400 }); } },
    },
    defaultTools: ["broken", "strict"],
    reliability: { retryPolicy: { ...fast, maxAttempts: 2 } },
    onEvent: (e) => { events.push(e); otel(e); },
  });
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  await assert.rejects(otel.wrap(o.run("q", { traceId })), (e) => e instanceof ToolExecutionError && e.category === "client");
  const spans = exporter.getFinishedSpans();
  const run = spans.find((s) => s.name === "reliable_orchestrator.run");
  assert.equal(run.spanContext().traceId, traceId);
  assert.equal(run.status.code, 2);
  assert.equal(run.attributes["error.type"], "client");
  assert.deepEqual(run.events.map((e) => e.name), ["retry", "fallback", "exception"]);
  const attempts = spans.filter((s) => s.name.startsWith("chat "));
  assert.deepEqual(attempts.map((s) => [s.name, s.status.code]), [["chat broken", 2], ["chat broken", 2], ["chat strict", 2]]);
  assert.equal(attempts[2].events[0].name, "exception");
  // Nothing left open.
  otel.endAll();
  assert.equal(exporter.getFinishedSpans().length, spans.length);
});
