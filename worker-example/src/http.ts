// Results and errors as HTTP: the result JSON with trace headers; errors as JSON carrying
// their code, with a status a client can act on.
import { OrchestratorError, ToolExecutionError, type OrchestratorEvent } from "reliable-orchestrator";

/** HTTP status per error code. */
export function statusOf(error: unknown): number {
  if (!(error instanceof OrchestratorError)) return 500;
  switch (error.code) {
    case "invalid_request":
    case "invalid_config":
    case "unknown_tool":
    case "no_tool":
      return 400;
    case "budget_exceeded":
      return 402;
    case "conflict":
      return 409;
    case "tool_failed":
      return error instanceof ToolExecutionError && error.category === "circuit_open" ? 503 : 502;
    case "timeout":
      return 504;
    case "store_failed":
    case "aborted":
      return 503;
    default:
      return 500;
  }
}

/** The error's public fields (code first), without its stack. */
export function errorBody(error: unknown): Record<string, unknown> {
  if (!(error instanceof OrchestratorError)) {
    return { code: "internal", message: error instanceof Error ? error.message : String(error) };
  }
  const fields: Record<string, unknown> = { code: error.code, message: error.message, name: error.name };
  for (const key of ["field", "toolName", "attempts", "category", "budgetType", "limit", "spent", "key", "reason"]) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) fields[key] = value;
  }
  return fields;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

export function idHeaders(traceId?: string, requestId?: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (traceId) headers["x-trace-id"] = traceId;
  if (requestId) headers["x-request-id"] = requestId;
  return headers;
}

export type Timeline = OrchestratorEvent[];
