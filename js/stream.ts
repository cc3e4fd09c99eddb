// A streaming run as JS consumes it: async-iterable chunks, a Web ReadableStream of the text,
// the final result, and a server-sent-events Response. The run itself (retries, breakers,
// budgets, interruptions) happens in the core; this only buffers what it delivers.
import type { RunResult, StreamChunk } from "./types.js";
import { OrchestratorError } from "./errors.js";

type Waiter = () => void;

/** What `orchestrator.runStream()` returns. */
export class RunStream implements AsyncIterable<StreamChunk> {
  /** The final result: `output` is the whole text. Rejects with the run's typed error. */
  readonly result: Promise<RunResult<string>>;
  readonly #chunks: string[] = [];
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #waiters: Waiter[] = [];
  readonly #cancel: (reason?: unknown) => void;

  /** @internal Built by `ReliableOrchestrator.runStream`. */
  constructor(start: (onChunk: (text: string) => void) => Promise<RunResult<string>>, cancel: (reason?: unknown) => void) {
    this.#cancel = cancel;
    this.result = start((text) => this.#push(text)).then(
      (result) => {
        // A replay (or a run that delivered nothing itself) yields its output as one chunk.
        if (this.#chunks.length === 0 && typeof result.output === "string" && result.output !== "") this.#push(result.output);
        this.#end(undefined, false);
        return result;
      },
      (error) => {
        this.#end(error, true);
        throw error;
      },
    );
    // The stream reports a failure to whoever reads it; an unread result is not an unhandled rejection.
    this.result.catch(() => {});
  }

  #push(text: string): void {
    this.#chunks.push(text);
    this.#wake();
  }

  #end(error: unknown, failed: boolean): void {
    this.#ended = true;
    this.#error = error;
    this.#failed = failed;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Chunk `index`, or `undefined` once the stream has ended before it (throws its error). */
  async #at(index: number): Promise<string | undefined> {
    for (;;) {
      if (index < this.#chunks.length) return this.#chunks[index];
      if (this.#ended) {
        if (this.#failed) throw this.#error;
        return undefined;
      }
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }

  /** Chunks as they arrive; ends with the run (throwing its error if it failed). Leaving the
   * loop early cancels the run and its upstream request. */
  [Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
    let index = 0;
    return {
      next: async () => {
        const text = await this.#at(index);
        if (text === undefined) return { done: true, value: undefined };
        index += 1;
        return { done: false, value: { text } };
      },
      return: async () => {
        if (!this.#ended) this.cancel();
        return { done: true, value: undefined };
      },
    };
  }

  /** The text as a Web `ReadableStream<string>`; cancelling it cancels the run. */
  get textStream(): ReadableStream<string> {
    let index = 0;
    return new ReadableStream<string>({
      pull: async (controller) => {
        try {
          const text = await this.#at(index);
          if (text === undefined) controller.close();
          else {
            index += 1;
            controller.enqueue(text);
          }
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: (reason) => this.cancel(reason),
    });
  }

  /** Cancels the run: the upstream request is aborted, and the run ends with code `aborted`. */
  cancel(reason?: unknown): void {
    this.#cancel(reason);
  }

  /** A `Response` of server-sent events: one `data: {"text": ...}` event per chunk, then an
   * `event: result` with the result, or an `event: error` with the typed error's fields. */
  toResponse(init: ResponseInit = {}): Response {
    const encoder = new TextEncoder();
    const event = (name: string | null, data: unknown) =>
      encoder.encode(`${name === null ? "" : `event: ${name}\n`}data: ${JSON.stringify(data)}\n\n`);
    let index = 0;
    let closed = false;
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (closed) return;
        try {
          const text = await this.#at(index);
          if (text !== undefined) {
            index += 1;
            controller.enqueue(event(null, { text }));
            return;
          }
          controller.enqueue(event("result", await this.result));
        } catch (error) {
          controller.enqueue(event("error", errorFields(error)));
        }
        closed = true;
        controller.close();
      },
      cancel: (reason) => this.cancel(reason),
    });
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "text/event-stream; charset=utf-8");
    if (!headers.has("cache-control")) headers.set("cache-control", "no-cache");
    return new Response(body, { ...init, headers });
  }
}

/** An error's fields as plain JSON for an SSE `error` event. */
function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof OrchestratorError)) return { name: "Error", code: "unknown", message: String(error) };
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  for (const key of ["code", "field", "traceId", "requestId", "toolName", "attempts", "category", "reason", "partial", "usage", "budgetType", "limit", "spent", "key"]) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
