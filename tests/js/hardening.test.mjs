// Hostile values never crash the host, trap the wasm instance or lock a key: each case runs in
// a child process (so a crash fails the test instead of killing the runner) and must end in a
// typed error, with the key freed and the instance still working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  ReliableOrchestrator, RuleBasedPlanner, OrchestratorError, ToolExecutionError, BudgetExceeded, ConflictError, memoryStore,
} from "reliable-orchestrator";

// Runs `body` (an async function body that returns JSON-able facts) in a fresh Node process.
function isolated(body) {
  const script = `
    import { ReliableOrchestrator, OrchestratorError, memoryStore } from "reliable-orchestrator";
    process.on("uncaughtException", (e) => { console.log(JSON.stringify({ uncaught: String(e?.stack ?? e) })); process.exit(3); });
    process.on("unhandledRejection", (e) => { console.log(JSON.stringify({ unhandled: String(e?.stack ?? e) })); process.exit(4); });
    const describe = (e) => ({ typed: e instanceof OrchestratorError, name: e?.name, code: e?.code, category: e?.category, field: e?.field, message: String(e?.message) });
    const sane = { provider: "sane", execute: async () => ({ output: "sane" }) };
    const facts = await (async () => { ${body} })();
    console.log(JSON.stringify(facts));
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), encoding: "utf8", timeout: 30_000 });
  assert.equal(child.status, 0, `child exited ${child.status} (${child.signal ?? ""}): ${child.stdout}\n${child.stderr}`);
  assert.doesNotMatch(child.stderr, /RuntimeError|unreachable/, child.stderr);
  return JSON.parse(child.stdout.trim().split("\n").at(-1));
}

// A keyed run with a hostile tool, then a second keyed run with the same key that must execute.
const keyedCase = (hostileReturn) => `
  let calls = 0;
  const store = memoryStore();
  const o = new ReliableOrchestrator({
    tools: { bad: { provider: "p", execute: () => { calls++; return calls === 1 ? (${hostileReturn})() : { output: "later" }; } }, sane },
    reliability: { retryPolicy: { maxAttempts: 1 } }, store,
  });
  let first;
  try { first = { ok: (await o.run("q", { toolName: "bad", idempotencyKey: "k", timeoutMs: 2000 })).output }; } catch (e) { first = describe(e); }
  const inFlight = o.inFlight();
  const again = await o.run("q", { toolName: "bad", idempotencyKey: "k", timeoutMs: 2000 }).then((r) => r.output, describe);
  const health = (await o.run("q", { toolName: "sane" })).output;
  return { first, inFlight, again, health };
`;

function assertTypedAndFreed(facts, category) {
  assert.equal(facts.first.typed, true, JSON.stringify(facts));
  assert.equal(facts.first.name, "ToolExecutionError", JSON.stringify(facts));
  if (category) assert.equal(facts.first.category, category, JSON.stringify(facts));
  assert.equal(facts.inFlight, 0, "the key is not left in flight");
  assert.equal(facts.again, "later", "the key was freed: the next run executes");
  assert.equal(facts.health, "sane");
}

test("a tool returning a revoked Proxy is an invalid output, not a trap", () => {
  assertTypedAndFreed(isolated(keyedCase(`() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; }`)), "invalid_output");
});

test("a tool returning a native Promise whose own then throws is typed", () => {
  assertTypedAndFreed(isolated(keyedCase(`() => { const p = Promise.resolve({ output: 1 }); p.then = () => { throw new Error("then throws"); }; return p; }`)), "invalid_output");
});

test("a tool returning a Promise whose constructor getter throws is typed", () => {
  // As `await` would (it reads `constructor`), the promise is unusable: an invalid output.
  assertTypedAndFreed(isolated(keyedCase(`() => { const p = Promise.resolve({ output: "ok" }); Object.defineProperty(p, "constructor", { get() { throw new Error("constructor throws"); } }); return p; }`)), "invalid_output");
});

test("a store whose get returns a Promise with a throwing then fails closed, key freed", () => {
  const facts = isolated(`
    const inner = memoryStore();
    const store = { get: () => { const p = Promise.resolve(null); p.then = () => { throw new Error("bad then"); }; return p; },
                    put: inner.put, delete: inner.delete };
    const o = new ReliableOrchestrator({ tools: { sane }, store });
    const first = await o.run("q", { toolName: "sane", idempotencyKey: "k", timeoutMs: 2000 }).then(() => "ran", describe);
    return { first, inFlight: o.inFlight(), health: (await o.run("q", { toolName: "sane" })).output };
  `);
  assert.equal(facts.first.code, "store_failed", JSON.stringify(facts));
  assert.equal(facts.inFlight, 0);
  assert.equal(facts.health, "sane");
});

test("a signal that is not a real AbortSignal is invalid_request naming signal", () => {
  const facts = isolated(`
    const o = new ReliableOrchestrator({ tools: { sane } });
    const fake = await o.run("q", { toolName: "sane", signal: Object.create(AbortSignal.prototype) }).then(() => "ran", describe);
    const { proxy, revoke } = Proxy.revocable(new AbortController().signal, {}); revoke();
    const revoked = await o.run("q", { toolName: "sane", signal: proxy }).then(() => "ran", describe);
    return { fake, revoked, health: (await o.run("q", { toolName: "sane" })).output };
  `);
  for (const e of [facts.fake, facts.revoked]) {
    assert.equal(e.code, "invalid_request", JSON.stringify(facts));
    assert.equal(e.field, "signal");
  }
  assert.equal(facts.health, "sane");
});

test("a fetch whose Response.headers iterator throws ends the run; the instance survives", () => {
  const facts = isolated(`
    const { openaiChat } = await import("reliable-orchestrator");
    const body = JSON.stringify({ choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    globalThis.fetch = async () => ({ status: 200, ok: true, headers: { [Symbol.iterator]() { return { next() { throw new Error("iterator throws"); } }; } }, text: async () => body });
    const o = new ReliableOrchestrator({ tools: { gpt: openaiChat({ apiKey: "sk-x", model: "gpt-4o-mini" }), sane } });
    const first = await o.run("q", { toolName: "gpt", timeoutMs: 2000 }).then((r) => ({ ok: r.output }), describe);
    return { first, health: (await o.run("q", { toolName: "sane" })).output };
  `);
  assert.deepEqual(facts.first, { ok: "hi" }, "headers that cannot be read are no headers");
  assert.equal(facts.health, "sane");
});

test("a tools Proxy whose ownKeys throws, a throwing tools getter and a revoked planner are invalid_config", () => {
  const cases = [
    [{ tools: new Proxy({}, { ownKeys() { throw new Error("ownKeys"); } }) }, "tools"],
    [Object.defineProperty({}, "tools", { enumerable: true, get() { throw new Error("getter"); } }), "tools"],
    [{ tools: (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; })() }, "tools"],
    [{ tools: {}, planner: (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; })() }, "planner"],
  ];
  for (const [config, field] of cases) {
    assert.throws(() => new ReliableOrchestrator(config), (e) => e instanceof OrchestratorError && e.code === "invalid_config" && e.field === field, field);
  }
});

test("wrong types in config and options name the field", async () => {
  const t = { execute: () => ({ output: 1 }) };
  const configs = [
    [{ tools: { t }, planner: "x" }, "planner"],
    [{ tools: { t }, planner: { rules: 5 } }, "planner.rules"],
    [{ tools: [t] }, "tools"],
    [{ tools: { t }, reliability: { retyPolicy: {} } }, "reliability.retyPolicy"],
    [{ tools: { t }, toolz: {} }, "toolz"],
    [{ tools: { t }, store: { get() {}, put() {}, delete() {}, putIfAbsent: 5 } }, "store.putIfAbsent"],
    [{ tools: { t }, store: { get() {}, put() {}, delete() {}, consistency: 5 } }, "store.consistency"],
  ];
  for (const [config, field] of configs) {
    assert.throws(() => new ReliableOrchestrator(config), (e) => e instanceof OrchestratorError && e.code === "invalid_config" && e.field === field, `${field}: ${JSON.stringify(config)}`);
  }
  assert.throws(() => new ReliableOrchestrator({ tools: { t }, toolz: {} }), /did you mean `tools`/);
  assert.throws(() => new RuleBasedPlanner("nope"), (e) => e instanceof OrchestratorError && e.field === "planner.rules");

  const o = new ReliableOrchestrator({ tools: { t }, defaultTools: ["t"] });
  const options = [
    [["other"], "options"],
    [new Map([["toolName", "t"]]), "options"],
    [new Date(0), "options"],
    [{ idempotencyKey: Symbol("k") }, "idempotencyKey"],
    [{ idempotencyKey: () => "k" }, "idempotencyKey"],
    [{ budget: { tokens: 10n } }, "budget.tokens"],
  ];
  for (const [opts, field] of options) {
    await assert.rejects(o.run("q", opts), (e) => e instanceof OrchestratorError && e.code === "invalid_request" && e.field === field, field);
  }
});

test("rule paths read own properties only", async () => {
  const o = new ReliableOrchestrator({
    tools: { proto: { execute: () => ({ output: "proto" }) }, typed: { execute: () => ({ output: "typed" }) }, d: { execute: () => ({ output: "default" }) } },
    planner: [
      { priority: 2, conditions: [{ path: "__proto__", op: "exists", value: true }], action: { toolName: "proto" } },
      { priority: 1, conditions: [{ path: "type", op: "equals", value: "analysis" }], action: { toolName: "typed" } },
    ],
    defaultTools: ["d"],
  });
  assert.equal((await o.run({})).output, "default");
  assert.equal((await o.run(Object.create({ type: "analysis" }))).output, "default", "an inherited type does not match");
  assert.equal((await o.run({ type: "analysis" })).output, "typed");
});

test("usage with wrong types is an invalid output; a total below its parts is not trusted", async () => {
  let usage;
  const o = new ReliableOrchestrator({ tools: { t: { execute: () => ({ output: "x", usage }) } }, defaultTools: ["t"] });
  usage = { promptTokens: "500" };
  await assert.rejects(o.run("q", { budget: { tokens: 10 } }), (e) => e instanceof ToolExecutionError && e.category === "invalid_output" && e.attempts === 1);
  usage = { promptTokens: 500, totalTokens: 0 };
  await assert.rejects(o.run("q", { budget: { tokens: 10 } }), (e) => e instanceof BudgetExceeded && e.spent === 500);
  usage = { promptTokens: 5, completionTokens: 3, totalTokens: 0 };
  assert.equal((await o.run("q")).usage.totalTokens, 8);
});

test("instanceof follows the prototype chain as well as the brand", () => {
  assert.ok(ToolExecutionError.prototype instanceof OrchestratorError);
  assert.ok(BudgetExceeded.prototype instanceof OrchestratorError);
  assert.ok(ConflictError.prototype instanceof OrchestratorError);
  assert.ok(!(OrchestratorError.prototype instanceof ToolExecutionError));
  const e = new ToolExecutionError("x", { code: "tool_failed", toolName: "t", attempts: 1, category: "server" });
  assert.ok(e instanceof ToolExecutionError && e instanceof OrchestratorError && e instanceof Error);
});

test("putIfAbsent answering anything but a boolean is a store failure, not a silent lock", async () => {
  for (const answer of [undefined, 1, "true", { inserted: true }]) {
    const inner = memoryStore();
    const events = [];
    const store = { get: inner.get, put: inner.put, delete: inner.delete, putIfAbsent: async () => answer };
    const o = new ReliableOrchestrator({ tools: { t: { execute: () => ({ output: "ran" }) } }, defaultTools: ["t"], store, onEvent: (e) => events.push(e) });
    await assert.rejects(o.run("q", { idempotencyKey: "k" }), (e) => e instanceof OrchestratorError && e.code === "store_failed", String(answer));
    assert.ok(events.some((e) => e.type === "idempotency" && e.outcome === "store_failed"), String(answer));
    const proceed = new ReliableOrchestrator({ tools: { t: { execute: () => ({ output: "ran" }) } }, defaultTools: ["t"], store, reliability: { idempotencyStoreFailure: "proceed" } });
    assert.equal((await proceed.run("q", { idempotencyKey: "k" })).output, "ran");
  }
});

test("outputs JSON cannot hold are returned but not stored; plain JSON replays exactly", async () => {
  const outputs = [new Float32Array([0.25, 0.5]), new Map([["a", 1]]), new Set([1]), new Date(0), undefined, { nested: [1, undefined] }, NaN];
  for (const output of outputs) {
    const events = [];
    let calls = 0;
    const o = new ReliableOrchestrator({ tools: { t: { execute: () => { calls++; return { output }; } } }, defaultTools: ["t"], store: memoryStore(), onEvent: (e) => events.push(e) });
    const first = await o.run("q", { idempotencyKey: "k" });
    assert.equal(first.output, output);
    assert.ok(events.some((e) => e.type === "idempotency" && e.outcome === "store_failed"), `store_failed for ${String(output)}`);
    const second = await o.run("q", { idempotencyKey: "k" });
    assert.equal(second.cached, false, "not replayed changed");
    assert.equal(calls, 2);
  }
  const plain = { a: [1, "two", null, true, { b: 2.5 }], c: "é" };
  const o = new ReliableOrchestrator({ tools: { t: { execute: () => ({ output: plain }) } }, defaultTools: ["t"], store: memoryStore() });
  await o.run("q", { idempotencyKey: "k" });
  const replay = await o.run("q", { idempotencyKey: "k" });
  assert.equal(replay.cached, true);
  assert.deepEqual(replay.output, plain);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("the in-progress lease covers the run even when the TTL is shorter", async () => {
  const store = memoryStore();
  let executions = 0;
  const slow = { execute: async () => { executions++; await sleep(600); return { output: "done" }; } };
  const config = { tools: { slow }, defaultTools: ["slow"], store, reliability: { idempotencyTtlMs: 200 } };
  const a = new ReliableOrchestrator(config);
  const b = new ReliableOrchestrator(config);
  const first = a.run("q", { idempotencyKey: "k" });
  await sleep(350);
  await assert.rejects(b.run("q", { idempotencyKey: "k" }), (e) => e instanceof ConflictError && e.reason === "in_progress");
  assert.equal((await first).output, "done");
  assert.equal(executions, 1);
});

test("a record past its own expiry on a coarse-TTL atomic store is replaced, once", async () => {
  // Keeps every value forever (as Workers KV keeps them for at least 60 s), atomically.
  const values = new Map();
  const store = {
    consistency: "strong",
    get: async (k) => values.get(k) ?? null,
    put: async (k, v) => { values.set(k, v); },
    delete: async (k) => { values.delete(k); },
    putIfAbsent: async (k, v) => (values.has(k) ? false : (values.set(k, v), true)),
    compareAndSwap: async (k, old, v) => (values.get(k) === old ? (values.set(k, v), true) : false),
  };
  let executions = 0;
  const t = { execute: async () => { executions++; await sleep(20); return { output: executions }; } };
  const orchestrators = [0, 1, 2].map(() => new ReliableOrchestrator({ tools: { t }, defaultTools: ["t"], store, reliability: { idempotencyTtlMs: 100 } }));
  assert.equal((await orchestrators[0].run("q", { idempotencyKey: "k" })).output, 1);
  assert.equal((await orchestrators[1].run("q", { idempotencyKey: "k" })).cached, true);
  await sleep(150);
  const racing = await Promise.allSettled(orchestrators.map((o) => o.run("q", { idempotencyKey: "k" })));
  assert.equal(executions, 2, "the expired record was replaced by exactly one run");
  const ran = racing.filter((r) => r.status === "fulfilled" && r.value.output === 2);
  assert.ok(ran.length >= 1, JSON.stringify(racing.map((r) => r.status === "fulfilled" ? r.value.output : r.reason.code)));
});

test("a follower in the same isolate survives its leader's abort", async () => {
  let executions = 0;
  const t = { execute: async (_r, _o, ctx) => {
    executions++;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 100);
      ctx.signal.addEventListener("abort", () => { clearTimeout(timer); reject(ctx.signal.reason); });
    });
    return { output: "done" };
  } };
  const o = new ReliableOrchestrator({ tools: { t }, defaultTools: ["t"], store: memoryStore() });
  const controller = new AbortController();
  const leader = o.run("q", { idempotencyKey: "k", signal: controller.signal });
  await sleep(5);
  const follower = o.run("q", { idempotencyKey: "k" });
  await sleep(20);
  controller.abort(new Error("caller left"));
  await assert.rejects(leader, (e) => e instanceof OrchestratorError && e.code === "aborted");
  const r = await follower;
  assert.equal(r.output, "done");
  assert.equal(executions, 2);
});
