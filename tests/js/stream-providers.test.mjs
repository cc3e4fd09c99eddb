// Streaming built-in tools over real fetch against the mock provider's SSE (both formats), with
// its stream faults; and the official SDKs consuming the same streams (the mock's fidelity).
import { test } from "node:test";
import { ownMock, collect } from "./helpers.mjs";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { ReliableOrchestrator, openaiChat, anthropicMessages, memoryStore, StreamInterrupted } from "reliable-orchestrator";


const mock = ownMock();

const fast = { maxAttempts: 3, initialDelay: 0.01, maxDelay: 5, jitter: 0 };

function orchestrator(extra = {}) {
  const events = [];
  const o = new ReliableOrchestrator({
    tools: {
      gpt: openaiChat({ apiKey: "sk-test", model: "gpt-4o-mini", baseUrl: `${mock.url}/v1` }),
      claude: anthropicMessages({ apiKey: "sk-ant-test", model: "claude-3-5-haiku-latest", baseUrl: `${mock.url}/v1` }),
    },
    defaultTools: extra.defaultTools ?? ["gpt", "claude"],
    reliability: { retryPolicy: fast, circuitBreakers: { default: { failureThreshold: 5 } } },
    store: extra.store,
    onEvent: (e) => events.push(e),
  });
  return { o, events };
}


test("both formats stream over SSE with usage, cost and a finish reason", async () => {
  const { o, events } = orchestrator();
  for (const toolName of ["gpt", "claude"]) {
    const s = o.runStream("tell me a story", { toolName });
    const { chunks, error, text } = await collect(s);
    assert.equal(error, undefined, String(error));
    assert.ok(chunks.length > 1, `${toolName} streamed in ${chunks.length} chunk(s)`);
    assert.equal(text, "Answer to: tell me a story");
    const r = await s.result;
    assert.equal(r.output, text);
    assert.ok(r.usage.totalTokens > 0, JSON.stringify(r.usage));
    assert.ok(r.costUsd > 0);
    assert.ok(["stop", "end_turn"].includes(r.finishReason), r.finishReason);
  }
  const sent = mock.log().map((c) => c.body);
  assert.equal(sent[0].stream, true);
  assert.deepEqual(sent[0].stream_options, { include_usage: true });
  assert.equal(sent[1].stream, true);
  assert.ok(events.some((e) => e.type === "first_chunk" && e.ttftMs >= 0));
});

test("a 429 before the stream is retried invisibly; a 503 storm falls back", async () => {
  const { o, events } = orchestrator();
  mock.fault({ kind: "rate_limit", format: "openai", retryAfterMs: 100 });
  const s = o.runStream("q", { toolName: "gpt" });
  assert.equal((await collect(s)).text, "Answer to: q");
  assert.deepEqual(events.filter((e) => e.type === "retry").map((e) => e.delayMs), [100]);
  mock.fault({ kind: "server", format: "openai", status: 503, count: 10 });
  const f = o.runStream("q");
  assert.equal((await collect(f)).text, "Answer to: q");
  assert.equal((await f.result).toolName, "claude");
});

test("each stream fault after the first chunk ends with its reason and the partial text", async () => {
  const cases = [
    [{ kind: "cut", afterChunks: 2 }, "cut"],
    [{ kind: "malformed_event", afterChunks: 2 }, "malformed"],
    [{ kind: "error_event", afterChunks: 2 }, "provider_error"],
    [{ kind: "no_terminal" }, "no_terminal"],
    [{ kind: "stall_after", afterChunks: 2, delayMs: 5_000 }, "idle_timeout"],
  ];
  for (const format of ["openai", "anthropic"]) {
    for (const [fault, reason] of cases) {
      mock.reset();
      const { o } = orchestrator();
      mock.fault({ ...fault, format });
      const s = o.runStream("a long enough question", { toolName: format === "openai" ? "gpt" : "claude", idleTimeoutMs: 300 });
      const { error, text } = await collect(s);
      assert.ok(error instanceof StreamInterrupted, `${format} ${fault.kind}: ${error}`);
      assert.equal(error.reason, reason, `${format} ${fault.kind}`);
      assert.equal(error.partial, text);
      if (reason !== "no_terminal") assert.ok(text.length > 0 && text.length < "Answer to: a long enough question".length, `${format} ${fault.kind}: ${text}`);
      assert.equal(mock.log().length, 1, "nothing restarted silently");
    }
  }
});

test("a stall before the first chunk is a first-chunk timeout; the fallback answers", async () => {
  const { o } = orchestrator();
  mock.fault({ kind: "stall_before", format: "openai", delayMs: 10_000, count: 3 });
  const s = o.runStream("q", { firstChunkTimeoutMs: 200 });
  assert.equal((await collect(s)).text, "Answer to: q");
  const r = await s.result;
  assert.equal(r.toolName, "claude");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(mock.log().filter((c) => c.format === "openai").every((c) => c.aborted), "the stalled requests were cancelled");
});

test("onInterrupt continue resumes on the other provider with the partial text as prefix", async () => {
  const { o } = orchestrator({ defaultTools: ["claude", "gpt"] });
  mock.fault({ kind: "error_event", format: "anthropic", afterChunks: 1 });
  const s = o.runStream("q", { onInterrupt: "continue" });
  const { error, text } = await collect(s);
  assert.equal(error, undefined, String(error));
  assert.equal((await s.result).toolName, "gpt");
  const continuation = mock.log().find((c) => c.format === "openai").body.messages;
  const prefix = continuation.at(-2);
  assert.equal(prefix.role, "assistant");
  assert.ok(prefix.content.length > 0 && text.startsWith(prefix.content), `${JSON.stringify(prefix)} / ${text}`);
  assert.equal(continuation.at(-1).role, "user");
});

test("a keyed stream replays its text without calling the provider", async () => {
  const { o } = orchestrator({ store: memoryStore() });
  const first = await collect(o.runStream("q", { toolName: "gpt", idempotencyKey: "s1" }));
  const again = o.runStream("q", { toolName: "gpt", idempotencyKey: "s1" });
  const replay = await collect(again);
  assert.equal(replay.text, first.text);
  assert.equal((await again.result).cached, true);
  assert.equal(mock.log().length, 1);
});

test("the official SDKs consume the mock's streams", async () => {
  const openai = new OpenAI({ apiKey: "sk-test", baseURL: `${mock.url}/v1`, maxRetries: 0 });
  const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] });
  let text = "";
  let usage;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    usage ??= chunk.usage ?? undefined;
  }
  assert.equal(text, "Answer to: hi");
  assert.ok(usage?.total_tokens > 0);

  const anthropic = new Anthropic({ apiKey: "sk-ant-test", baseURL: mock.url, maxRetries: 0 });
  const message = await anthropic.messages.stream({ model: "claude-3-5-haiku-latest", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).finalMessage();
  assert.equal(message.content[0].text, "Answer to: hi");
  assert.equal(message.stop_reason, "end_turn");
});
