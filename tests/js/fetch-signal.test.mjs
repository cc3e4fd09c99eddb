// A built-in tool's `fetch` is made cancellable only when something can end the call: a
// caller's signal, a run deadline, an attempt timeout, or a stream. Otherwise it goes without
// an AbortSignal (which costs Node's fetch about 65 µs a request). Where one can end it, the
// request is still really cancelled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReliableOrchestrator, openaiChat } from "reliable-orchestrator";

const reply = JSON.stringify({
  choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const seen = [];
let hang = false;
globalThis.fetch = async (url, init) => {
  seen.push(init.signal);
  if (hang) {
    await new Promise((resolve, reject) => {
      if (!init.signal) return; // never settles: nothing could end it
      init.signal.addEventListener("abort", () => reject(Object.assign(new Error("aborted"), { name: "AbortError" })), { once: true });
    });
  }
  return new Response(reply, { status: 200, headers: { "content-type": "application/json" } });
};

const orchestrator = (reliability = {}) =>
  new ReliableOrchestrator({ tools: { gpt: openaiChat({ apiKey: "sk-x", model: "gpt-4o-mini" }) }, defaultTools: ["gpt"], reliability });

test("a run nothing can end calls fetch without a signal; a signal, deadline or attempt timeout gives it one", async () => {
  const o = orchestrator();
  seen.length = 0;
  assert.equal((await o.run("q")).output, "hi");
  assert.equal(seen[0], undefined, "no signal without a caller signal, deadline or timeout");
  assert.equal((await o.run("q", { signal: new AbortController().signal })).output, "hi");
  assert.equal((await o.run("q", { timeoutMs: 10_000 })).output, "hi");
  assert.equal((await o.run("q", { attemptTimeoutMs: 10_000 })).output, "hi");
  assert.equal((await orchestrator({ attemptTimeoutMs: 10_000 }).run("q")).output, "hi");
  assert.equal(seen.length, 5);
  for (const signal of seen.slice(1)) assert.ok(signal instanceof AbortSignal);
});

test("where something can end the call, a hanging fetch is really aborted", async () => {
  hang = true;
  try {
    const o = orchestrator({ retryPolicy: { maxAttempts: 1 } });
    const timedOut = await o.run("q", { attemptTimeoutMs: 30 }).then(() => "ran", (e) => e.code);
    assert.equal(timedOut, "tool_failed");
    const caller = new AbortController();
    setTimeout(() => caller.abort(new Error("stop")), 30);
    const aborted = await o.run("q", { signal: caller.signal }).then(() => "ran", (e) => e.code);
    assert.equal(aborted, "aborted");
    for (const signal of seen.slice(-2)) assert.equal(signal.aborted, true, "the fetch's own signal fired");
  } finally {
    hang = false;
  }
});
