// The `ctx` a JS tool receives. Its `signal` is made on first read: a `new AbortController()`
// costs about 5 µs on Node 20, more than the rest of a plain run, and most tools never look.
// The core aborts the context through `abortContext`; a signal read later starts aborted.
import type { ToolContext } from "./types.js";

/** Makes a call's `traceparent` (a fresh span id each) when a tool reads it. */
interface TraceparentSource {
  traceparentFor(traceId: string): string;
}

export class LazyToolContext implements ToolContext {
  readonly traceId: string;
  readonly requestId: string;
  readonly attempt: number;
  readonly toolName: string;
  readonly partial?: string;
  #traceparent: string | undefined;
  readonly #source: TraceparentSource | undefined;
  #controller: AbortController | undefined;
  #reason: unknown = undefined;
  #aborted = false;

  constructor(
    traceId: string,
    requestId: string,
    attempt: number,
    toolName: string,
    traceparent: string | undefined,
    partial: string | undefined,
    source?: TraceparentSource,
  ) {
    this.traceId = traceId;
    this.requestId = requestId;
    this.attempt = attempt;
    this.toolName = toolName;
    this.#traceparent = traceparent;
    this.#source = source;
    if (partial !== undefined) this.partial = partial;
  }

  get traceparent(): string {
    if (this.#traceparent === undefined) this.#traceparent = this.#source?.traceparentFor(this.traceId) ?? "";
    return this.#traceparent;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** @internal */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** @internal Called by the wasm module for each tool call. */
export function makeContext(
  traceId: string,
  requestId: string,
  attempt: number,
  toolName: string,
  traceparent: string,
  partial: string | undefined,
): LazyToolContext {
  return new LazyToolContext(traceId, requestId, attempt, toolName, traceparent, partial);
}

// The emitter's kinds (src/wasm/js_events.rs keeps the same constants).
const ATTEMPT = 1;
const REQUEST_IS_TRACE = 4;

/**
 * @internal Makes an orchestrator's emitter of its commonest events (`plan` and `attempt` in
 * their usual shape), called by the wasm module with their fields: built here as literals,
 * where a `JSON.parse` of each cost more than the rest of a plain run. An id is `undefined`
 * when it is the last event's: a run's ids cross once. Fields and their order are as in the
 * events that cross as JSON.
 */
export function eventEmitter(listener: (event: unknown) => unknown) {
  let traceId = "";
  let requestId = "";
  return (at: number, trace: string | undefined, request: string | undefined, kind: number, toolName: string, attempt: number, rule: string | undefined): void => {
    if (trace !== undefined) traceId = trace;
    if (kind & REQUEST_IS_TRACE) requestId = traceId;
    else if (request !== undefined) requestId = request;
    const event = (kind & 3) === ATTEMPT
      ? { at, traceId, requestId, type: "attempt", toolName, attempt }
      : { at, traceId, requestId, type: "plan", toolName, fallbacks: [], rule: rule ?? null, skipped: [] };
    try {
      listener(event);
    } catch {
      // Whatever the listener throws stays with it.
    }
  };
}

/** @internal Called by the wasm module when the call's signal fires. */
export function abortContext(ctx: LazyToolContext, reason: unknown): void {
  ctx.abort(reason);
}
