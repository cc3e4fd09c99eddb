// A Cloudflare Worker running reliable-orchestrator:
//   POST /run     { request, options } -> the run's result (x-trace-id / x-request-id headers);
//                 errors as { error: { code, ... } } with 400 / 402 / 409 / 502 / 503 / 504.
//                 `x-include-events: 1` adds the run's event timeline to the answer.
//                 `"stream": true` streams the answer as server-sent events (`runStream`):
//                 `data: {"text"}` per chunk, then `event: result` or `event: error`.
//   GET  /health  breaker states and the idempotency store in use.
//   GET  /        the monitor page; GET /events?since=N feeds its timeline.
//   POST /demo/fault  forwards a fault to the local mock provider (only with MOCK_CONTROL_URL).
import { IdempotencyDurableObject, OrchestratorError, type RunOptions } from "reliable-orchestrator";
import type { Env } from "./env.js";
import { errorBody, idHeaders, json, statusOf } from "./http.js";
import { MONITOR_HTML } from "./monitor-page.js";
import { isolateFor, pullBreakers, pushBreakers } from "./orchestrator.js";

export { IdempotencyDurableObject };

async function run(request: Request, env: Env): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return json({ error: { code: "invalid_request", field: "body", message: "the body must be JSON" } }, 400);
  }
  if (typeof body !== "object" || body === null || !("request" in body)) {
    return json({ error: { code: "invalid_request", field: "body.request", message: "expected { request, options? }" } }, 400);
  }
  const { request: input, options: rawOptions, stream } = body as { request: unknown; options?: unknown; stream?: unknown };
  if (rawOptions !== undefined && (typeof rawOptions !== "object" || rawOptions === null || Array.isArray(rawOptions))) {
    return json({ error: { code: "invalid_request", field: "body.options", message: "must be an object" } }, 400);
  }
  const options: RunOptions = { ...(rawOptions as RunOptions | undefined) };
  // Incoming trace context, unless the body says otherwise.
  const traceparent = request.headers.get("traceparent");
  if (options.traceId === undefined && options.traceparent === undefined && traceparent) options.traceparent = traceparent;
  options.requestId ??= request.headers.get("x-request-id") ?? crypto.randomUUID();
  options.signal = request.signal;

  const isolate = isolateFor(env);
  await pullBreakers(isolate);
  const timeline: NonNullable<ReturnType<typeof isolate.timelines.get>> = [];
  const requestId = options.requestId;
  isolate.timelines.set(requestId, timeline);
  const withEvents = request.headers.get("x-include-events") === "1";
  if (stream === true) {
    // The same reliability before the first chunk; after it, an interruption is the last event.
    const running = isolate.orchestrator.runStream(input, options);
    running.result
      .catch(() => {})
      .finally(async () => {
        isolate.timelines.delete(requestId);
        await pushBreakers(isolate);
      });
    return running.toResponse({ headers: idHeaders(undefined, requestId) });
  }
  try {
    const result = await isolate.orchestrator.run(input, options);
    return json(withEvents ? { ...result, events: timeline } : result, 200, idHeaders(result.traceId, result.requestId));
  } catch (error) {
    const ids = error instanceof OrchestratorError ? idHeaders(error.traceId, error.requestId) : {};
    const payload: Record<string, unknown> = { error: errorBody(error), ...(withEvents ? { events: timeline } : {}) };
    return json(payload, statusOf(error), ids);
  } finally {
    isolate.timelines.delete(requestId);
    await pushBreakers(isolate);
  }
}

async function health(env: Env): Promise<Response> {
  const isolate = isolateFor(env);
  await pullBreakers(isolate);
  return json({ ok: true, store: isolate.store, breakers: isolate.orchestrator.circuitStates() });
}

/** Events of recent runs after sequence number `since` (this isolate's; see the README). */
function events(url: URL, env: Env): Response {
  const since = Number(url.searchParams.get("since") ?? 0);
  return json(isolateFor(env).recent.filter((e) => e.seq > since));
}

async function demoFault(request: Request, env: Env): Promise<Response> {
  if (!env.MOCK_CONTROL_URL) return json({ error: { code: "not_found", message: "no mock provider configured" } }, 404);
  const r = await fetch(`${env.MOCK_CONTROL_URL}/__mock/faults`, { method: "POST", body: await request.text() });
  return json(await r.json(), r.status);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const { pathname } = url;
    if (pathname === "/run" && request.method === "POST") return run(request, env);
    if (pathname === "/health" && request.method === "GET") return health(env);
    if (pathname === "/" && request.method === "GET") {
      return new Response(MONITOR_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (pathname === "/events" && request.method === "GET") return events(url, env);
    if (pathname === "/demo/fault" && request.method === "POST") return demoFault(request, env);
    return json({ error: { code: "not_found", message: `no route ${request.method} ${pathname}` } }, 404);
  },
};
