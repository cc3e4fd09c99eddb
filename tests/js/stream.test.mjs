// runStream against JS tools: chunks as they come, retries before the first chunk invisible,
// honest failures after it, continuation, budgets, cancellation, replays, SSE responses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collect } from "./helpers.mjs";
import { ReliableOrchestrator, StreamInterrupted, ToolExecutionError, BudgetExceeded, OrchestratorError, memoryStore } from "reliable-orchestrator";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fast = { maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05, jitter: 0 };

// A streaming tool whose n-th call follows scripts[n]: strings are chunks, numbers waits,
// an Error is thrown, "stall" waits for the abort.
function streamer(scripts, provider = "p") {
  let n = 0;
  const seen = [];
  const tool = {
    provider,
    execute: async () => ({ output: "whole" }),
    async *stream(request, options, ctx) {
      seen.push(ctx);
      const script = scripts[Math.min(n++, scripts.length - 1)];
      for (const step of script) {
        if (typeof step === "number") await sleep(step);
        else if (step instanceof Error) throw step;
        else if (step === "stall") await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
        else if (typeof step === "string") yield { text: step };
        else yield step;
      }
    },
  };
  return { tool, seen, calls: () => n };
}


test("chunks arrive as they come; the result is the whole text", async () => {
  const { tool } = streamer([["Hel", 20, "lo", { usage: { promptTokens: 3, completionTokens: 2 } }]]);
  const events = [];
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], onEvent: (e) => events.push(e) });
  const s = o.runStream("q");
  const { chunks, error } = await collect(s);
  assert.equal(error, undefined);
  assert.deepEqual(chunks, ["Hel", "lo"]);
  const r = await s.result;
  assert.equal(r.output, "Hello");
  assert.equal(r.usage.totalTokens, 5);
  assert.equal(r.cached, false);
  assert.deepEqual(events.filter((e) => e.type.startsWith("first_chunk") || e.type === "stream_end").map((e) => e.type), ["first_chunk", "stream_end"]);
});

test("failures before the first chunk are retried and the consumer never sees them", async () => {
  const { tool, calls } = streamer([[Object.assign(new Error("busy"), { status: 503 })], ["ok"]]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], reliability: { retryPolicy: fast } });
  const s = o.runStream("q");
  assert.deepEqual((await collect(s)).chunks, ["ok"]);
  assert.equal((await s.result).attempts, 2);
  assert.equal(calls(), 2);
});

test("a slow first chunk is a retryable timeout; the fallback answers", async () => {
  const a = streamer([[5_000, "late"]], "pa");
  const b = streamer([["from b"]], "pb");
  const o = new ReliableOrchestrator({
    tools: { a: a.tool, b: b.tool }, defaultTools: ["a", "b"],
    reliability: { retryPolicy: { ...fast, maxAttempts: 1 } },
  });
  const s = o.runStream("q", { firstChunkTimeoutMs: 50 });
  assert.deepEqual((await collect(s)).chunks, ["from b"]);
  assert.equal((await s.result).toolName, "b");
  assert.ok(a.seen[0].signal.aborted, "the slow call was aborted");
  assert.equal(o.circuitStates().pa.failures, 1);
});

test("a stream cut after it began ends with StreamInterrupted carrying the partial text", async () => {
  const { tool, calls } = streamer([["par", "tial", new TypeError("fetch failed")]], "pa");
  const events = [];
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], reliability: { retryPolicy: fast }, onEvent: (e) => events.push(e) });
  const s = o.runStream("q");
  const { chunks, error } = await collect(s);
  assert.deepEqual(chunks, ["par", "tial"]);
  assert.ok(error instanceof StreamInterrupted, String(error));
  assert.ok(error instanceof ToolExecutionError && error instanceof OrchestratorError);
  assert.equal(error.code, "stream_interrupted");
  assert.equal(error.reason, "cut");
  assert.equal(error.partial, "partial");
  assert.equal(calls(), 1, "nothing restarts silently");
  assert.equal(o.circuitStates().pa.failures, 1);
  await assert.rejects(s.result, (e) => e instanceof StreamInterrupted);
  assert.deepEqual(events.filter((e) => e.type === "stream_interrupted").map((e) => e.reason), ["cut"]);
});

test("a stall past idleTimeoutMs is an idle_timeout interruption and aborts the upstream", async () => {
  const { tool, seen } = streamer([["a", "stall"]]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"] });
  const s = o.runStream("q", { idleTimeoutMs: 50 });
  const { error } = await collect(s);
  assert.equal(error?.reason, "idle_timeout", String(error));
  assert.ok(seen[0].signal.aborted);
});

test("onInterrupt: continue goes on with the next tool from the partial text, seamlessly", async () => {
  const a = streamer([["Once upon", new Error("cut")]], "pa");
  const b = streamer([[" a time"]], "pb");
  const o = new ReliableOrchestrator({ tools: { a: a.tool, b: b.tool }, defaultTools: ["a", "b"] });
  const s = o.runStream("q", { onInterrupt: "continue" });
  assert.deepEqual((await collect(s)).chunks, ["Once upon", " a time"]);
  const r = await s.result;
  assert.equal(r.output, "Once upon a time");
  assert.equal(r.toolName, "b");
  assert.equal(b.seen[0].partial, "Once upon");
});

test("a token budget stops the stream mid-way with the partial output", async () => {
  const { tool, seen } = streamer([["first", { usage: { promptTokens: 5, completionTokens: 5 } }, "second", { usage: { completionTokens: 20 } }, "never"]]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"] });
  const s = o.runStream("q", { budget: { tokens: 20 } });
  const { chunks, error } = await collect(s);
  assert.deepEqual(chunks, ["first", "second"]);
  assert.ok(error instanceof BudgetExceeded, String(error));
  assert.equal(error.output, "firstsecond");
  assert.ok(seen[0].signal.aborted);
});

test("leaving the loop early cancels the run and aborts the upstream", async () => {
  const { tool, seen } = streamer([["one", 10, "two", 10, "three", "stall"]]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"] });
  const s = o.runStream("q");
  for await (const c of s) {
    if (c.text === "two") break;
  }
  await assert.rejects(s.result, (e) => e instanceof OrchestratorError && e.code === "aborted");
  assert.ok(seen[0].signal.aborted);
});

test("the caller's signal aborts the stream", async () => {
  const { tool } = streamer([["one", "stall"]]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"] });
  const controller = new AbortController();
  const s = o.runStream("q", { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("user left")), 30);
  const { chunks, error } = await collect(s);
  assert.deepEqual(chunks, ["one"]);
  assert.equal(error?.code, "aborted");
});

test("a tool without stream() yields its output as one chunk; a keyed stream replays at once", async () => {
  let calls = 0;
  const whole = { execute: async () => { calls++; return { output: "whole answer" }; } };
  const o = new ReliableOrchestrator({ tools: { t: whole }, defaultTools: ["t"], store: memoryStore() });
  const first = o.runStream("q", { idempotencyKey: "k" });
  assert.deepEqual((await collect(first)).chunks, ["whole answer"]);
  const replay = o.runStream("q", { idempotencyKey: "k" });
  assert.deepEqual((await collect(replay)).chunks, ["whole answer"]);
  assert.equal((await replay.result).cached, true);
  assert.equal(calls, 1);
});

test("textStream is a ReadableStream of the text; toResponse speaks server-sent events", async () => {
  const o = new ReliableOrchestrator({ tools: { t: streamer([["a", "b"]]).tool }, defaultTools: ["t"] });
  const reader = o.runStream("q").textStream.getReader();
  const parts = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  assert.deepEqual(parts, ["a", "b"]);

  const response = o.runStream("q").toResponse();
  assert.match(response.headers.get("content-type"), /^text\/event-stream/);
  const body = await response.text();
  assert.match(body, /^data: \{"text":"a"\}\n\ndata: \{"text":"b"\}\n\nevent: result\ndata: \{.*"output":"ab"/s);

  const failing = new ReliableOrchestrator({ tools: { t: streamer([["x", new Error("boom")]]).tool }, defaultTools: ["t"] });
  const failed = await failing.runStream("q").toResponse().text();
  assert.match(failed, /event: error\ndata: \{"name":"StreamInterrupted".*"code":"stream_interrupted".*"partial":"x"/s);
});

test("a ReadableStream from stream() works, and malformed chunks are an interruption", async () => {
  const readable = {
    execute: async () => ({ output: "" }),
    stream: () => new ReadableStream({ start(c) { c.enqueue({ text: "r1" }); c.enqueue("r2"); c.close(); } }),
  };
  const o = new ReliableOrchestrator({ tools: { t: readable }, defaultTools: ["t"] });
  assert.deepEqual((await collect(o.runStream("q"))).chunks, ["r1", "r2"]);

  const bad = { execute: async () => ({ output: "" }), async *stream() { yield "ok"; yield { text: 5 }; } };
  const b = new ReliableOrchestrator({ tools: { t: bad }, defaultTools: ["t"] });
  const { chunks, error } = await collect(b.runStream("q"));
  assert.deepEqual(chunks, ["ok"]);
  assert.equal(error?.reason, "malformed", String(error));
});

test("a duplicate keyed stream in the same isolate receives the chunks as they come", async () => {
  const { tool, calls } = streamer([["Hel", 30, "lo", 30, "!"]]);
  const o = new ReliableOrchestrator({ tools: { t: tool }, defaultTools: ["t"], store: memoryStore() });
  const a = o.runStream("q", { idempotencyKey: "dup" });
  await sleep(10);
  const b = o.runStream("q", { idempotencyKey: "dup" });
  const [ra, rb] = await Promise.all([collect(a), collect(b)]);
  assert.deepEqual(ra.chunks, ["Hel", "lo", "!"]);
  assert.equal(rb.chunks.join(""), "Hello!");
  assert.ok(rb.chunks.length >= 2, `the duplicate streamed too: ${JSON.stringify(rb.chunks)}`);
  assert.equal((await b.result).cached, true);
  assert.equal(calls(), 1);
});
