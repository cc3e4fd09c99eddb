// Built-in tools performed by the TypeScript driver: the wasm tool builds the HTTP request,
// the driver sends it with the host's `fetch` and awaits the body, the tool reads the answer.
// The call reads exactly as on the Rust driver (tests/js/builtin, providers, fetch-signal,
// hardening); these check the seams: that the driver does perform it, that a plan whose
// estimates read the request is not shared between runs, and fetch's own failures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, openaiChat } from "reliable-orchestrator";
import { WasmOrchestrator } from "./node_modules/reliable-orchestrator/generated/reliable_orchestrator.js";

const reply = JSON.stringify({
  choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const sent = [];
let answer = () => new Response(reply, { status: 200, headers: { "content-type": "application/json" } });
globalThis.fetch = async (url, init) => {
  sent.push({ url, init });
  return answer();
};

let exchanges = 0;
const exchange = WasmOrchestrator.prototype.exchange;
WasmOrchestrator.prototype.exchange = function (...args) {
  exchanges++;
  return exchange.apply(this, args);
};

const gpt = (reliability = {}) =>
  new ReliableOrchestrator({ tools: { gpt: openaiChat({ apiKey: "sk-x", model: "gpt-4o-mini", maxTokens: 64 }) }, defaultTools: ["gpt"], reliability });

test("a built-in tool's call is sent by the TypeScript driver, with its trace headers", async () => {
  const before = exchanges;
  sent.length = 0;
  const r = await gpt().run({ query: "q" }, { requestId: "req-1", traceId: "0af7651916cd43dd8448eb211c80319c" });
  assert.deepEqual([r.output, r.attempts, r.usage.totalTokens, r.requestId], ["hi", 1, 2, "req-1"]);
  assert.equal(exchanges, before + 1);
  assert.equal(sent[0].init.headers["x-request-id"], "req-1");
  assert.match(sent[0].init.headers.traceparent, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  assert.equal(JSON.parse(sent[0].init.body).messages[0].content, "q");
});

test("a plan with a built-in tool is planned per request: its estimate reads the prompt", async () => {
  const o = gpt();
  const budget = { tokens: 200 };
  const long = "word ".repeat(2000);
  for (const order of [["short", "long", "short"], ["long", "short", "long"]]) {
    for (const which of order) {
      sent.length = 0;
      const outcome = await o.run(which === "short" ? "q" : long, { budget }).then((r) => r.output, (e) => e.code);
      assert.equal(outcome, which === "short" ? "hi" : "budget_exceeded", `${order}: ${which}`);
      assert.equal(sent.length, which === "short" ? 1 : 0, "a refused run sends nothing");
      if (which === "short") assert.ok(JSON.parse(sent[0].init.body).max_tokens <= 200, "max_tokens fitted to the budget");
    }
  }
});

test("fetch throwing, rejecting or answering a broken response are retried network failures", async () => {
  const retrying = () => gpt({ retryPolicy: { maxAttempts: 2, initialDelay: 0.001, maxDelay: 0.001 } });
  const cases = [
    () => { throw new TypeError("fetch threw"); },
    () => Promise.reject(new TypeError("fetch failed", { cause: new Error("ECONNRESET") })),
    () => ({ status: 200, headers: new Headers(), text: () => Promise.reject(new Error("cut mid-body")) }),
    () => ({ status: 200, headers: new Headers() }),
    () => ({ then() { throw new Error("a thenable that breaks"); } }),
  ];
  try {
    for (const make of cases) {
      sent.length = 0;
      answer = make;
      // Each case its own orchestrator: their failures together would open the breaker.
      const e = await retrying().run("q").then(() => assert.fail("ran"), (x) => x);
      assert.equal(e.code, "tool_failed", String(make));
      assert.equal(e.attempts, 2, `retried: ${make}`);
      assert.equal(e.category, "network", `${make}: ${e.message}`);
    }
  } finally {
    answer = () => new Response(reply, { status: 200 });
  }
  assert.equal((await retrying().run("q")).output, "hi", "the instance still answers");
});

test("a retry hint is read from headers with get, or from [name, value] pairs as the Rust driver reads them", async () => {
  const limited = (headers) => () => ({ status: 429, headers, text: async () => "{}" });
  const cases = [
    [new Headers({ "retry-after": "3600" }), 1],
    [[["Retry-After", "3600"]], 1],
    [new Map([["retry-after-ms", "3600000"]]), 1],
    // One pass reads both hints: a generator cannot be iterated twice.
    [(function* () { yield ["x-other", "1"]; yield ["Retry-After", "3600"]; })(), 1],
    // Not iterable and no `get`: no hint, so the 429 is retried after the backoff.
    [{ "retry-after": "3600" }, 2],
  ];
  try {
    for (const [headers, attempts] of cases) {
      answer = limited(headers);
      const e = await gpt({ retryPolicy: { maxAttempts: 2, initialDelay: 0.001, maxDelay: 1 } }).run("q").then(() => assert.fail("ran"), (x) => x);
      assert.equal(e.category, "rate_limit", String(headers));
      assert.equal(e.attempts, attempts, `a hint over maxDelay gives the tool up at once: ${Object.prototype.toString.call(headers)}`);
    }
  } finally {
    answer = () => new Response(reply, { status: 200 });
  }
});

test("a hanging fetch is aborted by the run's deadline, and the breaker is told nothing stale", async () => {
  globalThis.fetch = async (url, init) => {
    sent.push({ url, init });
    return new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason), { once: true }));
  };
  try {
    const o = gpt();
    const e = await o.run("q", { timeoutMs: 30 }).then(() => "ran", (x) => x);
    assert.equal(e.code, "timeout");
    assert.equal(sent.at(-1).init.signal.aborted, true);
    assert.equal(o.circuitStates().openai?.failures ?? 0, 0, "a stopped call is not a provider failure");
  } finally {
    globalThis.fetch = async (url, init) => {
      sent.push({ url, init });
      return answer();
    };
    answer = () => new Response(reply, { status: 200 });
  }
});

test("a request whose toJSON starts a run while it is planned: both answer, the instance keeps working", async () => {
  const o = gpt();
  let inner;
  const request = { toJSON() { inner ??= o.run("inner"); return { query: "outer" }; } };
  const outer = await o.run(request);
  assert.equal(outer.output, "hi");
  assert.equal((await inner).output, "hi");
  assert.equal((await o.run("after")).output, "hi");
});

test("a fetch that aborts the caller's signal as it is called: the run is aborted, nothing rejects unhandled", async () => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  const caller = new AbortController();
  globalThis.fetch = (url, init) => {
    caller.abort(new Error("hung up"));
    return Promise.reject(new Error("fetch rejected after the abort"));
  };
  try {
    const e = await gpt().run("q", { signal: caller.signal }).then(() => "ran", (x) => x);
    assert.equal(e.code, "aborted");
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    globalThis.fetch = async (url, init) => {
      sent.push({ url, init });
      return answer();
    };
  }
});

test("a Response whose getters throw reads as the Rust driver read it: no status, no headers", async () => {
  const o = gpt({ retryPolicy: { maxAttempts: 1 } });
  answer = () => ({ get status() { throw new Error("status"); }, get headers() { throw new Error("headers"); }, text: async () => reply });
  try {
    const e = await o.run("q").then(() => "ran", (x) => x);
    assert.equal(e.code, "tool_failed", "status 0 is a failure");
    answer = () => ({ status: 200, get headers() { throw new Error("headers"); }, text: async () => reply });
    assert.equal((await o.run("q")).output, "hi", "unreadable headers are none");
  } finally {
    answer = () => new Response(reply, { status: 200 });
  }
});
