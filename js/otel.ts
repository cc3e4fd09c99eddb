// OpenTelemetry spans from orchestrator events, typed structurally against @opentelemetry/api
// (the package never imports it): a span per run and one per attempt, with GenAI
// semantic-convention attributes, in the run's W3C trace.
import type { OrchestratorEvent, RunResult, Tool } from "./types.js";
import type { BuiltinTool } from "./tools.js";

/** The parts of an OpenTelemetry `SpanContext` used here. */
export interface SpanContextLike {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

/** An OpenTelemetry attribute value. */
export type AttributeValueLike = string | number | boolean | Array<string | null | undefined> | Array<number | null | undefined> | Array<boolean | null | undefined>;
/** OpenTelemetry attributes. */
export type AttributesLike = Record<string, AttributeValueLike | undefined>;
/** An OpenTelemetry time (ms since the epoch, `[seconds, nanos]` or a `Date`). */
export type TimeLike = number | [number, number] | Date;

/** The parts of an OpenTelemetry `Span` used here. */
export interface SpanLike {
  spanContext(): SpanContextLike;
  setAttribute(key: string, value: AttributeValueLike): unknown;
  addEvent(name: string, attributes?: AttributesLike, time?: TimeLike): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: any, time?: TimeLike): unknown;
  end(endTime?: TimeLike): void;
}

/** The parts of an OpenTelemetry `Tracer` used here (`trace.getTracer(name)` gives one). */
export interface TracerLike {
  startSpan(name: string, options?: { startTime?: TimeLike; attributes?: AttributesLike; kind?: number }, context?: any): SpanLike;
}

/** What a tool is known by in spans: its provider (`gen_ai.system`) and model (`gen_ai.request.model`). */
export interface ToolDescription {
  provider?: string;
  model?: string;
}

export interface OtelListenerOptions {
  /** The orchestrator's tools (the same object as its `tools` config, or descriptions), so spans name their provider and model. */
  tools?: Record<string, Tool | BuiltinTool | ToolDescription>;
  /** Runs whose span is still open, at most (default 1000): past that the oldest is ended, marked unfinished. */
  maxOpenRuns?: number;
}

/**
 * The listener: call it (or its `onEvent`) with every event, and hand it each run's promise
 * (`wrap`) so the run span ends when the run settles — the event stream has no run-end event.
 */
export interface OtelListener {
  (event: OrchestratorEvent): void;
  onEvent(event: OrchestratorEvent): void;
  /** Ends the run's span (and its open attempt span) when `run` settles, with its usage or error; returns `run`. */
  wrap<T>(run: Promise<T>, requestId?: string): Promise<T>;
  /** Ends every span still open (marked unfinished), e.g. before shutdown. */
  endAll(): void;
}

const STATUS_OK = 1;
const STATUS_ERROR = 2;
const SPAN_KIND_CLIENT = 2;
/** The key @opentelemetry/api stores the active span under (`createContextKey` uses `Symbol.for`). */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

/** A minimal immutable OpenTelemetry `Context` holding `span` as the parent. */
function contextWith(span: { spanContext(): SpanContextLike }): unknown {
  const values = new Map<symbol, unknown>([[SPAN_KEY, span]]);
  const make = (map: Map<symbol, unknown>): unknown => ({
    getValue: (key: symbol) => map.get(key),
    setValue: (key: symbol, value: unknown) => make(new Map(map).set(key, value)),
    deleteValue: (key: symbol) => {
      const next = new Map(map);
      next.delete(key);
      return make(next);
    },
  });
  return make(values);
}

const isHex = (s: string, len: number) => s.length === len && /^[0-9a-fA-F]+$/.test(s);
const allZero = (s: string) => /^0+$/.test(s);

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buf);
  let hex = Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
  if (allZero(hex)) hex = hex.slice(0, -1) + "1";
  return hex;
}

// SHA-256 (FIPS 180-4), synchronous, for the hashed trace ids (as src/trace.rs derives them).
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256(data: Uint8Array): Uint8Array {
  const bitLen = data.length * 8;
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((v, i) => outView.setUint32(i * 4, v));
  return out;
}

/** The W3C trace-id of a run's `traceId`, derived as the orchestrator derives the one it sends. */
export function w3cTraceId(traceId: string): string {
  if (isHex(traceId, 32) && !allZero(traceId)) return traceId.toLowerCase();
  const undashed = traceId.replaceAll("-", "");
  if (traceId.length === 36 && traceId.split("-").length === 5 && isHex(undashed, 32) && !allZero(undashed)) {
    return undashed.toLowerCase();
  }
  const digest = sha256(new TextEncoder().encode(traceId)).subarray(0, 16);
  let hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (allZero(hex)) hex = hex.slice(0, -1) + "1";
  return hex;
}

interface RunSpans {
  span: SpanLike;
  context: unknown;
  attempt?: { span: SpanLike; toolName: string };
  toolName?: string;
}

/**
 * An `onEvent` listener recording OpenTelemetry spans: one per run (from its first event —
 * `plan`, or `idempotency` for a replay — to the settling of the promise handed to `wrap`),
 * and one per attempt (from its `attempt` event to the next attempt, retry or fallback, or the
 * run's end), children of the run span, all in the run's W3C trace (the trace id the
 * orchestrator sends in `traceparent`). Attributes follow the GenAI semantic conventions:
 * `gen_ai.system` (the tool's provider), `gen_ai.request.model` (when the tool's model is known,
 * see `options.tools`), and on the run span `gen_ai.usage.input_tokens` /
 * `gen_ai.usage.output_tokens` (the run's usage: attempts are not reported one by one).
 * Retries, fallbacks, breaker changes and budget stops are span events; a failed attempt and a
 * failed run have status ERROR (`error.type` the category or code) and record the exception.
 */
export function otelListener(tracer: TracerLike, options: OtelListenerOptions = {}): OtelListener {
  const runs = new Map<string, RunSpans>();
  const maxOpen = options.maxOpenRuns ?? 1000;

  const describe = (toolName: string): ToolDescription => {
    const tool = options.tools?.[toolName] as Record<string, unknown> | undefined;
    const inner = tool && (tool as { options?: Record<string, unknown> }).options; // built-in tools keep theirs here
    const model = (tool?.model ?? inner?.model) as unknown;
    const provider = tool?.provider;
    return {
      provider: typeof provider === "string" ? provider : undefined,
      model: typeof model === "string" ? model : undefined,
    };
  };
  const toolAttributes = (toolName: string): AttributesLike => {
    const { provider, model } = describe(toolName);
    const attributes: AttributesLike = { "gen_ai.operation.name": "chat", "reliable_orchestrator.tool": toolName };
    attributes["gen_ai.system"] = provider ?? toolName;
    if (model) attributes["gen_ai.request.model"] = model;
    return attributes;
  };

  const endAttempt = (run: RunSpans, at: number | undefined, error?: { reason: string; exception?: unknown }) => {
    const attempt = run.attempt;
    if (!attempt) return;
    run.attempt = undefined;
    if (error) {
      attempt.span.setAttribute("error.type", error.reason);
      if (error.exception !== undefined) attempt.span.recordException(error.exception, at);
      attempt.span.setStatus({ code: STATUS_ERROR, message: error.reason });
    } else {
      attempt.span.setStatus({ code: STATUS_OK });
    }
    attempt.span.end(at);
  };

  const endRun = (requestId: string, outcome: { result?: RunResult<unknown>; error?: unknown; unfinished?: boolean }) => {
    const run = runs.get(requestId);
    if (!run) return;
    runs.delete(requestId);
    const now = Date.now();
    const { result, error } = outcome;
    if (result) {
      Object.entries(toolAttributes(result.toolName)).forEach(([k, v]) => v !== undefined && run.span.setAttribute(k, v));
      run.span.setAttribute("gen_ai.usage.input_tokens", result.usage.promptTokens);
      run.span.setAttribute("gen_ai.usage.output_tokens", result.usage.completionTokens);
      run.span.setAttribute("reliable_orchestrator.attempts", result.attempts);
      run.span.setAttribute("reliable_orchestrator.cached", result.cached);
      if (typeof result.costUsd === "number") run.span.setAttribute("reliable_orchestrator.cost_usd", result.costUsd);
      endAttempt(run, now);
      run.span.setStatus({ code: STATUS_OK });
    } else if (outcome.unfinished) {
      endAttempt(run, now);
      run.span.setAttribute("reliable_orchestrator.unfinished", true);
    } else {
      const e = error as { category?: string; code?: string; message?: string } | undefined;
      const type = e?.category ?? e?.code ?? "error";
      endAttempt(run, now, { reason: type, exception: error });
      run.span.setAttribute("error.type", type);
      run.span.recordException(error as Error, now);
      run.span.setStatus({ code: STATUS_ERROR, message: e?.message ?? String(error) });
    }
    run.span.end(now);
  };

  const runFor = (event: OrchestratorEvent): RunSpans | undefined => {
    const { requestId, traceId } = event;
    if (requestId === undefined || traceId === undefined) return undefined;
    let run = runs.get(requestId);
    if (run) return run;
    if (runs.size >= maxOpen) {
      const oldest = runs.keys().next().value;
      if (oldest !== undefined) endRun(oldest, { unfinished: true });
    }
    const remote = { traceId: w3cTraceId(traceId), spanId: randomHex(8), traceFlags: 1, isRemote: true };
    const parent = contextWith({ spanContext: () => remote });
    const span = tracer.startSpan(
      "reliable_orchestrator.run",
      { startTime: event.at, attributes: { "reliable_orchestrator.request_id": requestId, "reliable_orchestrator.trace_id": traceId } },
      parent,
    );
    run = { span, context: contextWith(span) };
    runs.set(requestId, run);
    return run;
  };

  const onEvent = (event: OrchestratorEvent): void => {
    try {
      const run = runFor(event);
      if (!run) return;
      const at = event.at;
      switch (event.type) {
        case "plan":
          run.span.setAttribute("reliable_orchestrator.plan.tool", event.toolName);
          run.span.setAttribute("reliable_orchestrator.plan.fallbacks", event.fallbacks);
          if (event.rule !== null) run.span.setAttribute("reliable_orchestrator.plan.rule", event.rule);
          if (event.skipped.length) run.span.setAttribute("reliable_orchestrator.plan.skipped", event.skipped);
          break;
        case "attempt": {
          endAttempt(run, at);
          const attributes: AttributesLike = { ...toolAttributes(event.toolName), "reliable_orchestrator.attempt": event.attempt };
          if (event.fittedMaxTokens !== undefined) attributes["gen_ai.request.max_tokens"] = event.fittedMaxTokens;
          const { model } = describe(event.toolName);
          const span = tracer.startSpan(`chat ${model ?? event.toolName}`, { startTime: at, attributes, kind: SPAN_KIND_CLIENT }, run.context);
          run.attempt = { span, toolName: event.toolName };
          break;
        }
        case "retry": {
          const attributes = { "reliable_orchestrator.tool": event.toolName, "reliable_orchestrator.attempt": event.attempt, "reliable_orchestrator.delay_ms": event.delayMs, "error.type": event.reason };
          run.span.addEvent("retry", attributes, at);
          endAttempt(run, at, { reason: event.reason });
          break;
        }
        case "fallback":
          run.span.addEvent("fallback", { "reliable_orchestrator.from": event.from, "reliable_orchestrator.to": event.to, "reliable_orchestrator.reason": event.reason }, at);
          endAttempt(run, at, { reason: event.reason });
          break;
        case "breaker":
          run.span.addEvent("breaker", { "reliable_orchestrator.provider": event.provider, "reliable_orchestrator.from": event.from ?? "", "reliable_orchestrator.to": event.to ?? "", "reliable_orchestrator.reason": event.reason ?? "" }, at);
          break;
        case "budget": {
          const attributes: AttributesLike = { "reliable_orchestrator.budget_type": event.budgetType, "reliable_orchestrator.limit": event.limit, "reliable_orchestrator.spent": event.spent };
          if (event.requested !== undefined) attributes["reliable_orchestrator.requested"] = event.requested;
          run.span.addEvent("budget_exceeded", attributes, at);
          break;
        }
        case "idempotency":
          run.span.setAttribute("reliable_orchestrator.idempotency", event.outcome);
          break;
      }
    } catch {
      // A listener never breaks a run (and the orchestrator ignores throws anyway).
    }
  };

  const listener = ((event: OrchestratorEvent) => onEvent(event)) as OtelListener;
  listener.onEvent = onEvent;
  listener.wrap = <T>(run: Promise<T>, requestId?: string): Promise<T> =>
    run.then(
      (result) => {
        const id = requestId ?? (result as { requestId?: string } | null)?.requestId;
        if (id !== undefined) endRun(id, { result: result as unknown as RunResult<unknown> });
        return result;
      },
      (error: unknown) => {
        const id = requestId ?? (error as { requestId?: string } | null)?.requestId;
        if (id !== undefined) endRun(id, { error });
        throw error;
      },
    );
  listener.endAll = () => {
    for (const id of [...runs.keys()]) endRun(id, { unfinished: true });
  };
  return listener;
}
