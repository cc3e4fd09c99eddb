// The Worker in workerd (Miniflare) against the mock provider on 127.0.0.1, over real fetch,
// with real KV and Durable Object bindings.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startMockProvider, API_KEY } from "./harness.mjs";

let mock;
const workers = [];
before(async () => { mock = await startMockProvider({ idleMs: 120_000 }); });
after(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await mock?.close();
});
beforeEach(() => mock.reset());

async function worker(bindings) {
  const w = await startWorker(mock.url, bindings);
  workers.push(w);
  return w;
}

const modelCalls = () => mock.log().length;

test("a plain run answers with the result and trace headers", async () => {
  const w = await worker();
  const r = await w.run("hello", { requestId: "req-plain" });
  assert.equal(r.status, 200);
  assert.equal(r.body.output, "Answer to: hello");
  assert.equal(r.body.toolName, "quick");
  assert.equal(r.body.cached, false);
  assert.ok(r.body.costUsd > 0);
  assert.equal(r.headers.get("x-request-id"), "req-plain");
  assert.equal(r.headers.get("x-trace-id"), "req-plain");
  const health = await w.raw("/health");
  assert.equal(health.body.store, "durable_object");
  assert.equal(health.body.breakers.openai.state, "closed");
});

test("the seed's rules pick the tools: keyword, type, and metadata.quality (a bundle)", async () => {
  const w = await worker();
  assert.equal((await w.run({ query: "a deep dive" })).body.toolName, "deep_analysis");
  const validation = await w.run({ type: "validation", query: "check this" });
  assert.equal(validation.body.toolName, "validator");
  assert.equal(mock.log().at(-1).format, "anthropic");
  mock.reset();
  const premium = await w.run({ type: "analysis", query: "trends", metadata: { quality: "high" } });
  assert.equal(premium.body.toolName, "premium_analysis");
  assert.equal(premium.body.output.consensus, "Answer to: trends");
  assert.equal(premium.body.output.agreement, 1);
  assert.equal(modelCalls(), 2, "k = 3, settled after two agreeing replicates");
});

for (const store of ["kv", "durable_object"]) {
  test(`idempotent replay across two HTTP requests through ${store}`, async () => {
    const w = await worker({ IDEMPOTENCY_STORE: store });
    const first = await w.run("replay me", { idempotencyKey: `key-${store}` });
    const second = await w.run("replay me", { idempotencyKey: `key-${store}` });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(first.body.cached, false);
    assert.equal(second.body.cached, true);
    assert.equal(second.body.output, first.body.output);
    assert.equal(modelCalls(), 1);
    if (store === "kv") {
      const kv = await w.mf.getKVNamespace("IDEMPOTENCY_KV");
      const { keys } = await kv.list();
      assert.equal(keys.length, 1);
      assert.match(keys[0].name, /^ro:idem:v1:[0-9a-f]{64}$/, "namespaced and hashed");
      const record = await kv.get(keys[0].name);
      assert.ok(record.includes("replay me") && !record.includes(API_KEY));
    }
  });
}

test("a reused key with another body is a 409 conflict", async () => {
  const w = await worker();
  assert.equal((await w.run("one", { idempotencyKey: "reused" })).status, 200);
  const r = await w.run("two", { idempotencyKey: "reused" });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, "conflict");
  assert.equal(r.body.error.reason, "fingerprint_mismatch");
  assert.equal(modelCalls(), 1);
});

test("concurrent duplicates in one isolate share one execution", async () => {
  const w = await worker();
  mock.fault({ kind: "slow", delayMs: 300 });
  const results = await Promise.all(Array.from({ length: 8 }, () => w.run("same", { idempotencyKey: "dup-shared" })));
  assert.deepEqual(results.map((r) => r.status), Array(8).fill(200));
  assert.equal(results.filter((r) => !r.body.cached).length, 1);
  assert.equal(modelCalls(), 1);
});

test("concurrent duplicates in separate isolates execute once through the Durable Object", async () => {
  const w = await worker({ SIMULATE_ISOLATES: "true" });
  mock.fault({ kind: "slow", delayMs: 400 });
  const results = await Promise.all(Array.from({ length: 8 }, () => w.run("same", { idempotencyKey: "dup-isolates" })));
  assert.equal(modelCalls(), 1, "one execution across 8 isolates");
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 200).length, 1);
  for (const r of results.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 409);
    assert.equal(r.body.error.reason, "in_progress");
  }
  // Once finished, every isolate replays it.
  const later = await w.run("same", { idempotencyKey: "dup-isolates" });
  assert.equal(later.body.cached, true);
  assert.equal(modelCalls(), 1);
});

test("429 with Retry-After is honoured", async () => {
  const w = await worker();
  mock.fault({ kind: "rate_limit", format: "openai", retryAfter: 1 });
  const started = performance.now();
  const r = await w.run("slow down", {}, { "x-include-events": "1" });
  const elapsed = performance.now() - started;
  assert.equal(r.status, 200);
  assert.equal(r.body.attempts, 2);
  assert.deepEqual(r.body.events.filter((e) => e.type === "retry").map((e) => e.delayMs), [1000]);
  assert.ok(elapsed >= 990, `answered after ${elapsed} ms`);
  const [a, b] = mock.log();
  assert.ok(b.at - a.at >= 990);
});

test("injected 5xx open the breaker; the fallback answers; state is shared across isolates", async () => {
  const w = await worker({ SIMULATE_ISOLATES: "true" });
  mock.fault({ kind: "server", format: "openai", status: 503, durationMs: 60_000 });
  const r = await w.run("outage", {}, { "x-include-events": "1" });
  assert.equal(r.status, 200);
  assert.equal(r.body.toolName, "fallback");
  assert.equal(r.body.attempts, 4);
  assert.ok(r.body.events.some((e) => e.type === "breaker" && e.provider === "openai" && e.to === "open"));
  // A new isolate learns the open breaker from the Durable Object and skips openai entirely.
  const before = mock.log().filter((c) => c.format === "openai").length;
  const next = await w.run("still out", {}, { "x-include-events": "1" });
  assert.equal(next.body.toolName, "fallback");
  assert.deepEqual(next.body.events.find((e) => e.type === "plan").skipped, ["quick"]);
  assert.equal(mock.log().filter((c) => c.format === "openai").length, before);
  assert.equal((await w.raw("/health")).body.breakers.openai.state, "open");
});

test("a budget that cannot fit is a 402 before any call", async () => {
  const w = await worker();
  const r = await w.run("expensive", { budget: { tokens: 10 } });
  assert.equal(r.status, 402);
  assert.equal(r.body.error.code, "budget_exceeded");
  assert.equal(r.body.error.budgetType, "tokens");
  assert.equal(r.body.error.limit, 10);
  assert.equal(modelCalls(), 0);
});

test("trace context travels from the client to the provider", async () => {
  const w = await worker();
  const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const r = await w.run("trace me", {}, { traceparent: `00-${trace}-00f067aa0ba902b7-01`, "x-request-id": "client-req-7" });
  assert.equal(r.headers.get("x-trace-id"), trace);
  assert.equal(r.headers.get("x-request-id"), "client-req-7");
  const [call] = mock.log();
  assert.match(call.headers.traceparent, new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
  assert.equal(call.headers["x-request-id"], "client-req-7");
});

test("bad input is a 400 naming the field; unknown routes 404", async () => {
  const w = await worker();
  const badJson = await w.raw("/run", { method: "POST", body: "{not json" });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error.code, "invalid_request");
  const noRequest = await w.raw("/run", { method: "POST", body: JSON.stringify({ options: {} }) });
  assert.equal(noRequest.status, 400);
  assert.equal(noRequest.body.error.field, "body.request");
  const badOption = await w.run("x", { timeoutMs: "soon" });
  assert.equal(badOption.status, 400);
  assert.equal(badOption.body.error.field, "timeoutMs");
  const unknownTool = await w.run("x", { toolName: "nope" });
  assert.equal(unknownTool.status, 400);
  assert.equal(unknownTool.body.error.code, "unknown_tool");
  assert.equal((await w.raw("/nowhere")).status, 404);
  assert.equal(modelCalls(), 0);
});

test("provider failures are 502s that never carry the API key", async () => {
  const w = await worker();
  mock.fault({ kind: "unauthorized", count: 5 });
  const r = await w.run("who am i", { toolName: "quick" });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, "tool_failed");
  assert.equal(r.body.error.category, "client");
  assert.equal(mock.log()[0].headers.authorization, `Bearer ${API_KEY}`);
  const text = JSON.stringify(r.body);
  assert.ok(!text.includes(API_KEY) && !text.includes("0123456789"), text);
});

test("a streamed run answers with server-sent events: chunks, then the result", async () => {
  const w = await worker();
  const r = await w.stream("tell me more", { requestId: "req-stream" });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/event-stream/);
  assert.equal(r.headers.get("x-request-id"), "req-stream");
  const chunks = r.events.filter((e) => e.event === "message").map((e) => e.data.text);
  assert.ok(chunks.length > 1, `streamed in ${chunks.length} chunk(s)`);
  const result = r.events.at(-1);
  assert.equal(result.event, "result");
  assert.equal(result.data.output, chunks.join(""));
  assert.equal(result.data.output, "Answer to: tell me more");
});

test("a stream cut mid-way ends with an error event carrying the partial text", async () => {
  const w = await worker();
  mock.fault({ kind: "cut", afterChunks: 2, count: 5 });
  const r = await w.stream("tell me more");
  const last = r.events.at(-1);
  assert.equal(last.event, "error");
  assert.equal(last.data.code, "stream_interrupted");
  assert.equal(last.data.reason, "cut");
  const chunks = r.events.filter((e) => e.event === "message").map((e) => e.data.text).join("");
  assert.equal(last.data.partial, chunks);
  assert.equal(mock.log().length, 1, "nothing restarted silently");
});

test("a keyed stream replays from the Durable Object as one chunk", async () => {
  const w = await worker();
  const first = await w.stream("replay the stream", { idempotencyKey: "stream-key" });
  const second = await w.stream("replay the stream", { idempotencyKey: "stream-key" });
  assert.equal(first.events.at(-1).event, "result");
  assert.equal(second.events.at(-1).data.cached, true);
  assert.deepEqual(second.events.filter((e) => e.event === "message").map((e) => e.data.text), ["Answer to: replay the stream"]);
  assert.equal(mock.log().length, 1);
});
