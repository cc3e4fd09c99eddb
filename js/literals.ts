// Objects the wasm module has JS build as literals from their fields: a literal costs tens of
// nanoseconds, a `JSON.parse` of the same object over a microsecond on Node 20 (more than the
// rest of a plain run). Fields and their order are as in the objects that cross as JSON.
import type { RunResult } from "./types.js";

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

/**
 * @internal Builds a run's result for the async Rust driver (src/wasm/js_results.rs): the
 * message comes as JSON text; a cost that is not finite reads `null`, as it does through JSON.
 */
export function makeResult(
  output: unknown,
  toolName: string,
  attempts: number,
  cached: boolean,
  promptTokens: number,
  completionTokens: number,
  totalTokens: number,
  costUsd: number | undefined,
  message: string | undefined,
  traceId: string,
  requestId: string,
  elapsedMs: number,
  finishReason: string | undefined,
): RunResult {
  const result: RunResult = {
    output,
    toolName,
    attempts,
    cached,
    usage: { promptTokens, completionTokens, totalTokens },
    costUsd: costUsd !== undefined && Number.isFinite(costUsd) ? costUsd : null,
    message: message === undefined ? null : (JSON.parse(message) as RunResult["message"]),
    traceId,
    requestId,
    elapsedMs,
  };
  if (finishReason !== undefined) result.finishReason = finishReason;
  return result;
}
