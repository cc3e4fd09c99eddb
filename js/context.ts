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

/** @internal Called by the wasm module when the call's signal fires. */
export function abortContext(ctx: LazyToolContext, reason: unknown): void {
  ctx.abort(reason);
}
