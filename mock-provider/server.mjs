// A local mock LLM provider speaking the OpenAI Chat Completions and Anthropic Messages wire
// formats, with faults injected on demand. Dependency-free; binds only to 127.0.0.1; stops by
// itself after `idleMs` without requests (and after `lifetimeMs` at most).
//
//   node mock-provider/server.mjs [--port 8788] [--idle-ms 120000] [--lifetime-ms 1800000] [--api-key KEY]
//   import { startMockProvider } from "./mock-provider/server.mjs";   // startMockProvider({ apiKey })
//
// Endpoints (any path prefix is allowed, so `http://127.0.0.1:PORT/v1` is a base URL):
//   POST .../chat/completions    OpenAI format
//   POST .../messages            Anthropic format
//   POST /__mock/faults          queue a fault: { kind, format?, model?, count?, durationMs?, status?,
//                                retryAfter?, retryAfterDate?, retryAfterMs?, delayMs? }
//                                kinds: rate_limit, server, client, status (any status, default 400),
//                                slow, drop, malformed, unauthorized (`server` or `client` with a 4xx
//                                status sends that status's client-error body); with `stream: true`
//                                also the stream faults of ./stream.mjs
//   POST /__mock/config          { apiKey }: require this key (401 otherwise); `null` turns the check off
//   GET  /__mock/log             every request received: { at, format, model, headers, body, fault, status }
//   POST /__mock/reset           clear faults, log and answer counters; the config returns to its start value
//
// Error bodies are shaped as the real APIs send them (OpenAI `{ error: { message, type, param, code } }`,
// Anthropic `{ type: "error", error: { type, message } }`), and every reply carries `x-request-id`
// (OpenAI) or `request-id` (Anthropic). Anthropic requests without `max_tokens` or the
// `anthropic-version` header are rejected with 400, as the real API does.
//
// Answers are deterministic per model and prompt: `Answer to: <last user text>`. Models:
//   `cycle:A|B|C`    answers A, B, C, A, ... in turn (so bundles can disagree)
//   `tools:<name>`   calls tool <name> with `{ "query": <last user text> }`; once the conversation
//                    holds a tool result, answers `Tool said: <result>`
//   `refuse:<any>`   refuses (OpenAI `message.refusal`, Anthropic `stop_reason: "refusal"`)
//   `truncate:<any>` stops at the length limit (`finish_reason: "length"` / `stop_reason: "max_tokens"`)
// Each format's reply is built by one function from a format-neutral answer (`openaiReply`,
// `anthropicReply`), so other encodings (streaming) can reuse the answer.
import http from "node:http";
import { fileURLToPath } from "node:url";
import { streamReply } from "./stream.mjs";

const tokens = (text) => Math.max(1, Math.ceil(String(text ?? "").length / 4));

function textOf(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((b) => (typeof b === "string" ? b : b?.text ?? "")).join("");
  return "";
}

// The error each status stands for, per format, as the real APIs spell it.
const OPENAI_ERRORS = {
  400: { type: "invalid_request_error", code: null },
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory" },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
  500: { type: "server_error", code: null },
  503: { type: "server_error", code: null },
};
const ANTHROPIC_ERRORS = {
  400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
  404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
  500: "api_error", 529: "overloaded_error",
};

/** The error body `format` sends with `status` (or of `kind`, an explicit OpenAI code / Anthropic type). */
function errorBody(format, status, message, { kind, param = null } = {}) {
  if (format === "anthropic") {
    const type = kind ?? ANTHROPIC_ERRORS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
    return { type: "error", error: { type, message } };
  }
  const known = OPENAI_ERRORS[status] ?? (status >= 500 ? OPENAI_ERRORS[500] : OPENAI_ERRORS[400]);
  return { error: { message, type: known.type, param, code: kind ?? known.code } };
}

/** The header naming the request, per format. */
const REQUEST_ID_HEADER = { openai: "x-request-id", anthropic: "request-id" };

/** The text of the last tool result in the conversation, if the conversation has one. */
function toolResultOf(format, messages) {
  const last = messages[messages.length - 1];
  if (format === "openai") return last?.role === "tool" ? textOf(last.content) : undefined;
  const block = Array.isArray(last?.content) ? last.content.find((b) => b?.type === "tool_result") : undefined;
  return block ? textOf(block.content) : undefined;
}

/** OpenAI Chat Completions reply for a format-neutral `answer`. */
function openaiReply(id, model, answer) {
  const message = { role: "assistant", content: answer.toolCalls.length || answer.refusal ? null : answer.text, refusal: answer.refusal ?? null };
  if (answer.toolCalls.length) {
    message.tool_calls = answer.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
  }
  const finish = { stop: "stop", length: "length", tool_calls: "tool_calls", refusal: "stop" }[answer.finish];
  return {
    id: `chatcmpl-${id}`, object: "chat.completion", created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message, finish_reason: finish }],
    usage: { prompt_tokens: answer.input, completion_tokens: answer.output, total_tokens: answer.input + answer.output },
  };
}

/** Anthropic Messages reply for a format-neutral `answer`. */
function anthropicReply(id, model, answer) {
  const content = [];
  if (answer.text && !answer.refusal) content.push({ type: "text", text: answer.text });
  if (answer.refusal) content.push({ type: "text", text: answer.refusal });
  for (const c of answer.toolCalls) content.push({ type: "tool_use", id: c.id, name: c.name, input: c.arguments });
  const stop = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", refusal: "refusal" }[answer.finish];
  return {
    id: `msg_${id}`, type: "message", role: "assistant", model, content, stop_reason: stop, stop_sequence: null,
    usage: { input_tokens: answer.input, output_tokens: answer.output },
  };
}

const REPLIES = { openai: openaiReply, anthropic: anthropicReply };

/** Why a well-formed request would still be refused by the real API (400), or null. */
function requestProblem(format, req, body) {
  if (!body || typeof body !== "object" || !Array.isArray(body.messages) || typeof body.model !== "string") {
    return "`model` and `messages` are required.";
  }
  if (format === "anthropic") {
    if (!req.headers["anthropic-version"]) return "anthropic-version: header is required";
    if (!Number.isInteger(body.max_tokens)) return "max_tokens: Field required";
  }
  return null;
}

/** The key a request presents, whichever header carries it. */
function presentedKey(req) {
  const bearer = String(req.headers.authorization ?? "").replace(/^Bearer /i, "");
  return req.headers["x-api-key"] ?? req.headers["api-key"] ?? (bearer || undefined);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

// Pages and wasm tests in browsers call the mock from another origin: allow it, and let them
// read the retry headers.
const CORS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "retry-after, retry-after-ms, x-request-id, request-id",
};

function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...CORS, ...headers });
  res.end(text);
}

export function startMockProvider({ port = 0, idleMs = 120_000, lifetimeMs = 30 * 60_000, apiKey = null } = {}) {
  const initialConfig = { apiKey };
  let config = { ...initialConfig };
  let faults = [];
  let log = [];
  const counters = new Map();
  const sockets = new Set();

  const matches = (fault, format, model) =>
    (!fault.format || fault.format === format) && (!fault.model || fault.model === model);

  function takeFault(format, model) {
    const now = Date.now();
    faults = faults.filter((f) => (f.until ? f.until > now : f.count > 0));
    const fault = faults.find((f) => matches(f, format, model));
    if (fault && !fault.until) fault.count -= 1;
    return fault;
  }

  /** What the model says, format-neutral: `{ text, toolCalls, refusal, finish, input, output }`. */
  function answer(format, model, body) {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const lastUser = [...messages].reverse().find((m) => m?.role === "user" && toolResultOf(format, [m]) === undefined);
    const prompt = textOf(lastUser?.content);
    const out = { text: `Answer to: ${prompt}`, toolCalls: [], refusal: null, finish: "stop" };
    const [mode, arg = ""] = model.includes(":") ? [model.slice(0, model.indexOf(":")), model.slice(model.indexOf(":") + 1)] : [model];
    if (mode === "cycle") {
      const choices = arg.split("|");
      const n = counters.get(model) ?? 0;
      counters.set(model, n + 1);
      out.text = choices[n % choices.length];
    } else if (mode === "tools") {
      const result = toolResultOf(format, messages);
      if (result !== undefined) out.text = `Tool said: ${result}`;
      else Object.assign(out, { text: "", finish: "tool_calls", toolCalls: [{ id: `call_${log.length}`, name: arg, arguments: { query: prompt } }] });
    } else if (mode === "refuse") {
      Object.assign(out, { text: "", refusal: "I can't help with that.", finish: "refusal" });
    } else if (mode === "truncate") {
      Object.assign(out, { text: out.text.slice(0, 8), finish: "length" });
    }
    const system = format === "anthropic" ? textOf(body.system) : "";
    out.input = tokens(messages.map((m) => textOf(m?.content)).join(" ") + system);
    out.output = tokens(out.text + JSON.stringify(out.toolCalls) + (out.refusal ?? ""));
    return REPLIES[format](log.length, model, out);
  }

  async function handleModelCall(req, res, format) {
    const raw = await readBody(req);
    let body = {};
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as is below
    }
    const model = body?.model ?? null;
    const entry = { at: Date.now(), format, model, path: req.url, headers: { ...req.headers }, body, fault: null, status: null, aborted: false };
    log.push(entry);
    res.on("close", () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    const fault = takeFault(format, model);
    entry.fault = fault?.kind ?? null;
    const requestId = `req_${log.length}_${Date.now().toString(36)}`;
    const reply = (status, payload, headers) => {
      entry.status = status;
      if (!res.destroyed) send(res, status, payload, { [REQUEST_ID_HEADER[format]]: requestId, ...headers });
    };
    const failWith = (status, message, options) => reply(status, errorBody(format, status, message, options));
    switch (fault?.kind) {
      case "rate_limit": {
        const headers = {};
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        if (fault.retryAfterDate !== undefined) headers["retry-after"] = new Date(Date.now() + fault.retryAfterDate * 1000).toUTCString();
        if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
        entry.retryAfter = fault.retryAfter ?? fault.retryAfterDate ?? (fault.retryAfterMs !== undefined ? fault.retryAfterMs / 1000 : undefined);
        return reply(429, errorBody(format, 429, "Rate limit reached; slow down."), headers);
      }
      case "server":
      case "client": {
        const status = fault.status ?? (fault.kind === "client" ? 400 : 500);
        const message = status >= 500 ? "The server had an error while processing your request. Sorry about that!" : `Request rejected (${status}).`;
        return failWith(status, message);
      }
      case "status":
        // Any other error status (400, 404, 409, 422, ...), e.g. for SDK classification tests.
        return failWith(fault.status ?? 400, `Mock error with status ${fault.status ?? 400}.`);
      case "unauthorized":
        return failWith(401, `Incorrect API key provided: ${presentedKey(req)}.`);
      case "drop":
        entry.status = "dropped";
        return req.socket.destroy();
      case "malformed":
        entry.status = 200;
        res.writeHead(200, { "content-type": "application/json", ...CORS });
        return res.end('{"id": "chatcmpl-broken", "choices": [{"message": ');
      case "slow":
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, fault.delayMs ?? 1000);
          res.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (res.destroyed) return;
        break;
      default:
        break;
    }
    if (config.apiKey && presentedKey(req) !== config.apiKey) {
      const shown = String(presentedKey(req) ?? "");
      const masked = shown.length > 8 ? `${shown.slice(0, 6)}****${shown.slice(-4)}` : shown;
      return failWith(401, format === "anthropic" ? "invalid x-api-key" : `Incorrect API key provided: ${masked}.`);
    }
    const problem = requestProblem(format, req, body);
    if (problem) return failWith(400, problem);
    if (body.stream === true) {
      entry.status = 200;
      entry.stream = true;
      return streamReply(res, format, answer(format, model, body), fault, { ...CORS, [REQUEST_ID_HEADER[format]]: requestId });
    }
    return reply(200, answer(format, model, body));
  }

  async function handle(req, res) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...CORS,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
        "access-control-max-age": "600",
      });
      return res.end();
    }
    if (url.pathname === "/__mock/faults" && req.method === "POST") {
      const raw = await readBody(req);
      let fault;
      try {
        fault = JSON.parse(raw);
      } catch {
        return send(res, 400, { error: "fault must be JSON" });
      }
      const list = Array.isArray(fault) ? fault : [fault];
      for (const f of list) {
        faults.push({ ...f, count: f.count ?? 1, until: f.durationMs ? Date.now() + f.durationMs : undefined });
      }
      return send(res, 200, { queued: list.length });
    }
    if (url.pathname === "/__mock/config" && req.method === "POST") {
      let update;
      try {
        update = JSON.parse(await readBody(req));
      } catch {
        return send(res, 400, { error: "config must be JSON" });
      }
      if ("apiKey" in update) config.apiKey = update.apiKey || null;
      return send(res, 200, { apiKey: config.apiKey ? "set" : null });
    }
    if (url.pathname === "/__mock/log" && req.method === "GET") return send(res, 200, log);
    if (url.pathname === "/__mock/reset" && req.method === "POST") {
      reset();
      return send(res, 200, { reset: true });
    }
    if (url.pathname === "/__mock/health") return send(res, 200, { ok: true });
    if (req.method === "POST" && url.pathname.endsWith("/chat/completions")) return handleModelCall(req, res, "openai");
    if (req.method === "POST" && url.pathname.endsWith("/messages")) return handleModelCall(req, res, "anthropic");
    return send(res, 404, { error: { message: `no route ${req.method} ${url.pathname}`, type: "invalid_request_error", param: null, code: "unknown_url" } });
  }

  const server = http.createServer((req, res) => {
    touch();
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(e), type: "server_error", param: null, code: null } });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function reset() {
    faults = [];
    log = [];
    counters.clear();
    config = { ...initialConfig };
  }

  let idleTimer;
  const lifetimeTimer = setTimeout(() => close(), lifetimeMs);
  lifetimeTimer.unref();
  function touch() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => close(), idleMs);
    idleTimer.unref();
  }

  let closed;
  function close() {
    clearTimeout(idleTimer);
    clearTimeout(lifetimeTimer);
    closed ??= new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closed;
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      touch();
      const { port: bound } = server.address();
      const url = `http://127.0.0.1:${bound}`;
      resolve({
        url,
        port: bound,
        close,
        closed: () => closed,
        /** Queues faults directly (same shape as POST /__mock/faults). */
        fault: (f) => {
          for (const one of Array.isArray(f) ? f : [f]) {
            faults.push({ ...one, count: one.count ?? 1, until: one.durationMs ? Date.now() + one.durationMs : undefined });
          }
        },
        log: () => log,
        reset,
        /** Changes the config (same shape as POST /__mock/config). */
        configure: (update) => {
          if ("apiKey" in update) config.apiKey = update.apiKey || null;
        },
      });
    });
  });
}

// Run directly: print where it listens, then serve until idle.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const arg = (name, fallback) => (text(name) === undefined ? fallback : Number(text(name)));
  const mock = await startMockProvider({
    port: arg("--port", 0),
    idleMs: arg("--idle-ms", 120_000),
    lifetimeMs: arg("--lifetime-ms", 30 * 60_000),
    apiKey: text("--api-key") ?? null,
  });
  console.log(JSON.stringify({ event: "listening", url: mock.url }));
  // The timers are unref'd for in-process use; here, stay up until close() runs.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise((resolve) => {
    const check = setInterval(() => {
      if (mock.closed()) {
        clearInterval(check);
        resolve();
      }
    }, 250);
  });
  await mock.closed();
  clearInterval(keepAlive);
}
