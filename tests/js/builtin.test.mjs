// Built-in tools end to end against the mock provider: replies with tool calls, refusals and
// truncation are successes with a normalised `result.message`; requests pass tools, tool choice
// and response format through; `validate` (run option and tool option) retries and falls back;
// OpenAI-compatible options (max_completion_tokens, auth, query) and Anthropic's version and
// bearer auth; keys given through headers are redacted; the mock's error bodies and headers.
import { test } from "node:test";
import { ownMock } from "./helpers.mjs";
import assert from "node:assert/strict";
import { ReliableOrchestrator, openaiChat, anthropicMessages, OrchestratorError, ToolExecutionError } from "reliable-orchestrator";


const KEY = "sk-live-0123456789abcdefXYZ";
const mock = ownMock();

const fast = { maxAttempts: 3, initialDelay: 0.01, maxDelay: 5, jitter: 0 };
const base = () => `${mock.url}/v1`;

function orchestrator(tools, defaultTools = Object.keys(tools)) {
  const events = [];
  const o = new ReliableOrchestrator({
    tools, defaultTools, reliability: { retryPolicy: fast }, onEvent: (e) => events.push(e),
  });
  return { o, events };
}

const gpt = (model = "gpt-4o-mini", extra = {}) => openaiChat({ apiKey: KEY, model, baseUrl: base(), ...extra });
const claude = (model = "claude-3-5-haiku-latest", extra = {}) => anthropicMessages({ apiKey: KEY, model, baseUrl: base(), ...extra });

test("a tool-call reply is a success with the call in result.message, both formats", async () => {
  const { o } = orchestrator({ gpt: gpt("tools:search"), claude: claude("tools:search") });
  for (const toolName of ["gpt", "claude"]) {
    const r = await o.run("weather in Paris?", { toolName });
    assert.equal(r.attempts, 1, toolName);
    assert.equal(r.output, "");
    assert.equal(r.message.finishReason, "tool_calls");
    assert.equal(r.message.refusal, null);
    assert.equal(r.message.toolCalls.length, 1);
    const [call] = r.message.toolCalls;
    assert.equal(call.name, "search");
    assert.deepEqual(call.arguments, { query: "weather in Paris?" });
    assert.equal(typeof call.id, "string");
  }
  // The conversation continued with the tool's result gets the model's text.
  const first = await o.run("q", { toolName: "gpt" });
  const id = first.message.toolCalls[0].id;
  const messages = [
    { role: "user", content: "q" },
    { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name: "search", arguments: "{}" } }] },
    { role: "tool", tool_call_id: id, content: "sunny" },
  ];
  const next = await o.run({ messages }, { toolName: "gpt" });
  assert.equal(next.output, "Tool said: sunny");
  assert.equal(next.message.finishReason, "stop");
  assert.equal(mock.log().length, 4);
});

test("refusals and truncated replies are successes, not retried", async () => {
  const { o } = orchestrator({ gptRefuse: gpt("refuse:x"), claudeRefuse: claude("refuse:x"), gptCut: gpt("truncate:x"), claudeCut: claude("truncate:x") });
  const a = await o.run("q", { toolName: "gptRefuse" });
  assert.equal(a.output, "");
  assert.equal(a.message.refusal, "I can't help with that.");
  const b = await o.run("q", { toolName: "claudeRefuse" });
  assert.equal(b.message.refusal, "I can't help with that.");
  assert.equal(b.message.finishReason, "content_filter");
  for (const toolName of ["gptCut", "claudeCut"]) {
    const r = await o.run("a long question", { toolName });
    assert.equal(r.message.finishReason, "length", toolName);
    assert.equal(r.output, "Answer t");
  }
  assert.equal(mock.log().length, 4, "one call each");
});

test("tools, toolChoice and responseFormat reach the provider in its format", async () => {
  const { o } = orchestrator({ gpt: gpt(), claude: claude() });
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];
  await o.run({ query: "q", system: "s", tools, toolChoice: "auto", responseFormat: { type: "json_object" } }, { toolName: "gpt" });
  const claudeTools = [{ name: "f", input_schema: { type: "object" } }];
  await o.run({ query: "q", system: "s", tools: claudeTools, toolChoice: { type: "any" } }, { toolName: "claude" });
  const [openaiCall, anthropicCall] = mock.log();
  assert.deepEqual(openaiCall.body.tools, tools);
  assert.equal(openaiCall.body.tool_choice, "auto");
  assert.deepEqual(openaiCall.body.response_format, { type: "json_object" });
  assert.deepEqual(anthropicCall.body.tools, claudeTools);
  assert.deepEqual(anthropicCall.body.tool_choice, { type: "any" });
  assert.equal(anthropicCall.body.system, "s");
  assert.deepEqual(anthropicCall.body.messages, [{ role: "user", content: "q" }]);
});

test("validate as a run option: false retries, throwing or rejecting every time falls back", async () => {
  const { o, events } = orchestrator({ gpt: gpt(), claude: claude() });
  let calls = 0;
  const seen = [];
  const r = await o.run("q", {
    toolName: "gpt",
    validate: (output, message) => { seen.push([output, message.text]); calls += 1; return calls > 1; },
  });
  assert.equal(r.attempts, 2);
  assert.deepEqual(seen[0], ["Answer to: q", "Answer to: q"]);
  assert.equal(r.usage.totalTokens > 0, true);
  assert.deepEqual(events.filter((e) => e.type === "retry").map((e) => e.reason), ["invalid_output"]);

  const rejectGpt = async (_output, _message) => { if (mock.log().at(-1).format === "openai") throw new Error("no"); };
  const fell = await o.run("q", { validate: rejectGpt });
  assert.equal(fell.toolName, "claude");
  assert.equal(fell.attempts, 4);

  await assert.rejects(o.run("q", { toolName: "gpt", validate: () => { throw new Error("never good"); } }), (e) => {
    assert.ok(e instanceof ToolExecutionError);
    assert.equal(e.category, "invalid_output");
    assert.equal(e.attempts, 3);
    assert.match(String(e.cause?.message ?? e.message), /never good/);
    return true;
  });
  await assert.rejects(o.run("q", { validate: "yes" }), (e) => e instanceof OrchestratorError && e.field === "validate");
});

test("validate as a built-in tool option rejects tool calls and falls back", async () => {
  const noCalls = (_output, message) => message.toolCalls.length === 0;
  const { o } = orchestrator({ caller: gpt("tools:f", { validate: noCalls, provider: "p1" }), plain: gpt("gpt-4o-mini", { validate: noCalls }) });
  const r = await o.run("q");
  assert.equal(r.toolName, "plain");
  assert.equal(r.attempts, 4);
  assert.equal(r.message.toolCalls.length, 0);
  assert.throws(() => new ReliableOrchestrator({ tools: { t: gpt("m", { validate: 3 }) } }), (e) => e.field === "tools.t.validate");
});

test("a JS tool's message comes back as result.message", async () => {
  const message = { text: "hi", toolCalls: [], refusal: null, finishReason: "stop" };
  const { o } = orchestrator({ js: { execute: async () => ({ output: "hi", message }) }, bare: { execute: () => ({ output: 1 }) } });
  assert.deepEqual((await o.run("q", { toolName: "js" })).message, message);
  assert.equal((await o.run("q", { toolName: "bare" })).message, null);
});

test("max_completion_tokens for o-series and gpt-5 models, or when asked", async () => {
  const { o } = orchestrator({
    o3: gpt("o3-mini", { maxTokens: 50 }), five: gpt("gpt-5-mini", { maxTokens: 50 }),
    asked: gpt("gpt-4o-mini", { maxCompletionTokens: 40 }), classic: gpt("gpt-4o-mini", { maxTokens: 30 }),
  });
  for (const toolName of ["o3", "five", "asked", "classic"]) await o.run("q", { toolName });
  const bodies = mock.log().map((e) => e.body);
  assert.deepEqual(bodies.map((b) => [b.max_tokens, b.max_completion_tokens]), [[undefined, 50], [undefined, 50], [undefined, 40], [30, undefined]]);
});

test("auth header, query parameters, auth none and the mock's key check", async () => {
  mock.configure({ apiKey: KEY });
  const { o } = orchestrator({
    azure: gpt("gpt-4o-mini", { auth: { header: "api-key" }, query: { "api-version": "2024-10-21" } }),
    none: gpt("gpt-4o-mini", { auth: "none" }),
    claudeBearer: claude("claude-3-5-haiku-latest", { auth: "bearer", anthropicVersion: "2023-06-01" }),
  });
  await o.run("q", { toolName: "azure" });
  const [azure] = mock.log();
  assert.equal(azure.path, "/v1/chat/completions?api-version=2024-10-21");
  assert.equal(azure.headers["api-key"], KEY);
  assert.equal(azure.headers.authorization, undefined);
  await o.run("q", { toolName: "claudeBearer" });
  assert.equal(mock.log()[1].headers.authorization, `Bearer ${KEY}`);
  assert.equal(mock.log()[1].headers["x-api-key"], undefined);
  await assert.rejects(o.run("q", { toolName: "none" }), (e) => {
    assert.equal(e.category, "client");
    assert.equal(e.attempts, 1, "a 401 is not retried");
    return true;
  });
  assert.equal(mock.log()[2].headers.authorization, undefined);
  assert.equal(mock.log()[2].status, 401);
});

test("a key given through headers is redacted from errors and events", async () => {
  const secret = "azure-secret-0123456789";
  mock.configure({ apiKey: "the-right-key-000000" });
  const events = [];
  const o = new ReliableOrchestrator({
    tools: { gw: openaiChat({ model: "gpt-4o-mini", baseUrl: base(), headers: { "api-key": secret } }) },
    reliability: { retryPolicy: fast }, onEvent: (e) => events.push(e),
  });
  const error = await o.run("q", { toolName: "gw" }).catch((e) => e);
  assert.equal(error.category, "client");
  const shown = JSON.stringify({ message: error.message, cause: error.cause?.message, stack: error.stack, events });
  assert.match(shown, /redacted/);
  for (const leaked of [secret, "azure-", "0123456789"]) assert.ok(!shown.includes(leaked), `${leaked} leaked: ${shown}`);
});

test("the mock answers like the real APIs: error bodies, request ids, required fields", async () => {
  const post = async (path, body, headers = {}) => {
    const r = await fetch(`${mock.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    return { status: r.status, headers: r.headers, body: await r.json() };
  };
  const ok = await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }] });
  assert.ok(ok.headers.get("x-request-id"));
  const noVersion = await post("/v1/messages", { model: "m", max_tokens: 5, messages: [] });
  assert.equal(noVersion.status, 400);
  assert.deepEqual(Object.keys(noVersion.body), ["type", "error"]);
  assert.equal(noVersion.body.error.type, "invalid_request_error");
  assert.ok(noVersion.headers.get("request-id"));
  const noMax = await post("/v1/messages", { model: "m", messages: [] }, { "anthropic-version": "2023-06-01" });
  assert.match(noMax.body.error.message, /max_tokens/);
  mock.fault({ kind: "server", status: 500, format: "openai" });
  const server = await post("/v1/chat/completions", { model: "m", messages: [] });
  assert.deepEqual(server.body.error, { message: server.body.error.message, type: "server_error", param: null, code: null });
  mock.fault({ kind: "server", status: 529, format: "anthropic" });
  const overloaded = await post("/v1/messages", { model: "m", max_tokens: 5, messages: [] }, { "anthropic-version": "2023-06-01" });
  assert.equal(overloaded.body.error.type, "overloaded_error");
  mock.fault({ kind: "server", status: 404 });
  const notFound = await post("/v1/messages", { model: "m", max_tokens: 5, messages: [] }, { "anthropic-version": "2023-06-01" });
  assert.equal(notFound.body.error.type, "not_found_error");
  mock.fault({ kind: "client", status: 400, format: "openai" });
  const client = await post("/v1/chat/completions", { model: "m", messages: [] });
  assert.equal(client.body.error.type, "invalid_request_error");
});
