// A local mock LLM provider speaking the OpenAI Chat Completions and Anthropic Messages wire
// formats, with faults injected on demand. Dependency-free; binds only to 127.0.0.1; stops by
// itself after `idleMs` without requests (and after `lifetimeMs` at most).
//
//   node mock-provider/server.mjs [--port 8788] [--idle-ms 120000] [--lifetime-ms 1800000]
//   import { startMockProvider } from "./mock-provider/server.mjs";
//
// Endpoints (any path prefix is allowed, so `http://127.0.0.1:PORT/v1` is a base URL):
//   POST .../chat/completions    OpenAI format
//   POST .../messages            Anthropic format
//   POST /__mock/faults          queue a fault: { kind, format?, model?, count?, durationMs?, status?,
//                                retryAfter?, retryAfterDate?, retryAfterMs?, delayMs? }
//                                kinds: rate_limit, server (status: 5xx), slow, drop, malformed,
//                                unauthorized, status (any status, default 400); with
//                                `stream: true` also the stream faults of ./stream.mjs
//   GET  /__mock/log             every request received: { at, format, model, headers, body, fault, status }
//   POST /__mock/reset           clear faults, log and answer counters
//
// Answers are deterministic per model and prompt: `Answer to: <last user text>`; a model named
// `cycle:A|B|C` answers A, B, C, A, ... in turn (so bundles can disagree).
import http from "node:http";
import { fileURLToPath } from "node:url";
import { streamReply } from "./stream.mjs";

const tokens = (text) => Math.max(1, Math.ceil(String(text ?? "").length / 4));

function textOf(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((b) => (typeof b === "string" ? b : b?.text ?? "")).join("");
  return "";
}

function errorBody(format, type, message) {
  return format === "anthropic"
    ? { type: "error", error: { type, message } }
    : { error: { message, type, code: type, param: null } };
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
  "access-control-expose-headers": "retry-after, retry-after-ms, x-request-id",
};

function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...CORS, ...headers });
  res.end(text);
}

export function startMockProvider({ port = 0, idleMs = 120_000, lifetimeMs = 30 * 60_000 } = {}) {
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

  function answer(format, model, body) {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const lastUser = [...messages].reverse().find((m) => m?.role === "user");
    const prompt = textOf(lastUser?.content);
    let text = `Answer to: ${prompt}`;
    if (typeof model === "string" && model.startsWith("cycle:")) {
      const choices = model.slice(6).split("|");
      const n = counters.get(model) ?? 0;
      counters.set(model, n + 1);
      text = choices[n % choices.length];
    }
    const system = format === "anthropic" ? textOf(body.system) : "";
    const input = tokens(messages.map((m) => textOf(m?.content)).join(" ") + system);
    const output = tokens(text);
    if (format === "anthropic") {
      return {
        id: `msg_${log.length}`, type: "message", role: "assistant", model,
        content: [{ type: "text", text }], stop_reason: "end_turn",
        usage: { input_tokens: input, output_tokens: output },
      };
    }
    return {
      id: `chatcmpl-${log.length}`, object: "chat.completion", created: Math.floor(Date.now() / 1000), model,
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
    };
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
    const reply = (status, payload, headers) => {
      entry.status = status;
      if (!res.destroyed) send(res, status, payload, headers);
    };
    switch (fault?.kind) {
      case "rate_limit": {
        const headers = {};
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        if (fault.retryAfterDate !== undefined) headers["retry-after"] = new Date(Date.now() + fault.retryAfterDate * 1000).toUTCString();
        if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
        const type = format === "anthropic" ? "rate_limit_error" : "rate_limit_exceeded";
        entry.retryAfter = fault.retryAfter ?? fault.retryAfterDate ?? (fault.retryAfterMs !== undefined ? fault.retryAfterMs / 1000 : undefined);
        return reply(429, errorBody(format, type, "Rate limit reached; slow down."), headers);
      }
      case "server": {
        const status = fault.status ?? 500;
        const type = format === "anthropic" ? (status === 529 ? "overloaded_error" : "api_error") : "server_error";
        return reply(status, errorBody(format, type, "The server had an error processing your request."));
      }
      case "unauthorized": {
        const key = req.headers["x-api-key"] ?? String(req.headers.authorization ?? "").replace(/^Bearer /, "");
        const type = format === "anthropic" ? "authentication_error" : "invalid_api_key";
        return reply(401, errorBody(format, type, `Incorrect API key provided: ${key}.`));
      }
      case "status": {
        // Any other error status (400, 404, 409, 422, ...), e.g. for SDK classification tests.
        const status = fault.status ?? 400;
        const type = status === 404 ? "not_found_error" : "invalid_request_error";
        return reply(status, errorBody(format, type, `Mock error with status ${status}.`));
      }
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
    if (!body || typeof body !== "object" || !Array.isArray(body.messages) || typeof model !== "string") {
      return reply(400, errorBody(format, "invalid_request_error", "`model` and `messages` are required."));
    }
    if (body.stream === true) {
      entry.status = 200;
      entry.stream = true;
      return streamReply(res, format, answer(format, model, body), fault, CORS);
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
    if (url.pathname === "/__mock/log" && req.method === "GET") return send(res, 200, log);
    if (url.pathname === "/__mock/reset" && req.method === "POST") {
      faults = [];
      log = [];
      counters.clear();
      return send(res, 200, { reset: true });
    }
    if (url.pathname === "/__mock/health") return send(res, 200, { ok: true });
    if (req.method === "POST" && url.pathname.endsWith("/chat/completions")) return handleModelCall(req, res, "openai");
    if (req.method === "POST" && url.pathname.endsWith("/messages")) return handleModelCall(req, res, "anthropic");
    return send(res, 404, { error: { message: `no route ${req.method} ${url.pathname}`, type: "not_found_error" } });
  }

  const server = http.createServer((req, res) => {
    touch();
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(e), type: "server_error" } });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

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
        reset: () => {
          faults = [];
          log = [];
          counters.clear();
        },
      });
    });
  });
}

// Run directly: print where it listens, then serve until idle.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const mock = await startMockProvider({
    port: arg("--port", 0),
    idleMs: arg("--idle-ms", 120_000),
    lifetimeMs: arg("--lifetime-ms", 30 * 60_000),
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
