// Error classes. Checks use a brand (Symbol.for) as well as the prototype chain, so
// `instanceof` still works when two copies of the package end up in one bundle.

const BRAND = Symbol.for("reliable-orchestrator.error");

type Kind = "OrchestratorError" | "ToolExecutionError" | "BudgetExceeded" | "ConflictError" | "StreamInterrupted";

/** Every `code` an OrchestratorError can carry. */
export type ErrorCode =
  | "invalid_config"
  | "invalid_request"
  | "unknown_tool"
  | "no_tool"
  | "tool_failed"
  | "budget_exceeded"
  | "conflict"
  | "timeout"
  | "aborted"
  | "store_failed"
  | "stream_interrupted";

/** How a tool failure was classified (`ToolExecutionError.category`). */
export type ToolErrorCategory =
  | "rate_limit"
  | "server"
  | "timeout"
  | "network"
  | "client"
  | "invalid_output"
  | "circuit_open"
  | "unknown";

/** Which budget stopped a run. */
export type BudgetType = "tokens" | "costUsd" | "timeMs";

/** Why an idempotency key could not be used. */
export type ConflictReason = "fingerprint_mismatch" | "in_progress";

function branded(value: unknown, kind?: Kind): boolean {
  if (typeof value !== "object" || value === null) return false;
  const brand = (value as Record<symbol, unknown>)[BRAND];
  if (typeof brand !== "string") return false;
  // A StreamInterrupted is a ToolExecutionError too.
  return kind === undefined || kind === "OrchestratorError" || brand === kind || (kind === "ToolExecutionError" && brand === "StreamInterrupted");
}

/** Base of every error the orchestrator throws; `code` is stable and machine-readable. */
export class OrchestratorError extends Error {
  readonly code: ErrorCode;
  /** The config or option path at fault (`invalid_config`, `invalid_request`). */
  readonly field?: string;
  readonly traceId?: string;
  readonly requestId?: string;
  /** The last output the run paid for, when a budget stopped it. */
  readonly output?: unknown;

  constructor(message: string, fields: { code: ErrorCode; field?: string; traceId?: string; requestId?: string; output?: unknown; cause?: unknown }) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
    this.code = fields.code;
    if (fields.field !== undefined) this.field = fields.field;
    if (fields.traceId !== undefined) this.traceId = fields.traceId;
    if (fields.requestId !== undefined) this.requestId = fields.requestId;
    if (fields.output !== undefined) this.output = fields.output;
    Object.defineProperty(this, BRAND, { value: new.target.name, enumerable: false });
  }

  /** The prototype chain first (so `ToolExecutionError.prototype instanceof OrchestratorError`),
   * then the brand, which survives two copies of the package in one bundle. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || branded(value, this.name as Kind);
  }
}

/** The plan ran out: a non-retryable failure, retries exhausted, or every breaker open. */
export class ToolExecutionError extends OrchestratorError {
  readonly toolName: string;
  readonly attempts: number;
  readonly category: ToolErrorCategory;
  readonly status?: number;

  constructor(message: string, fields: ConstructorParameters<typeof OrchestratorError>[1] & { toolName: string; attempts: number; category: ToolErrorCategory; status?: number }) {
    super(message, fields);
    this.toolName = fields.toolName;
    this.attempts = fields.attempts;
    this.category = fields.category;
    if (fields.status !== undefined) this.status = fields.status;
  }
}

/** A budget stopped the run. */
export class BudgetExceeded extends OrchestratorError {
  readonly budgetType: BudgetType;
  readonly limit: number;
  readonly spent: number;
  /** For a call refused before it was sent: the total it would have needed (`spent` plus its estimate). */
  readonly requested?: number;

  constructor(message: string, fields: ConstructorParameters<typeof OrchestratorError>[1] & { budgetType: BudgetType; limit: number; spent: number; requested?: number }) {
    super(message, fields);
    this.budgetType = fields.budgetType;
    this.limit = fields.limit;
    this.spent = fields.spent;
    if (fields.requested !== undefined) this.requested = fields.requested;
  }
}

/** The idempotency key cannot be used: another request used it, or a run holds it. */
export class ConflictError extends OrchestratorError {
  readonly key: string;
  readonly reason: ConflictReason;

  constructor(message: string, fields: ConstructorParameters<typeof OrchestratorError>[1] & { key: string; reason: ConflictReason }) {
    super(message, fields);
    this.key = fields.key;
    this.reason = fields.reason;
  }
}

/** Why a stream that had begun ended early. */
export type InterruptReason = "cut" | "idle_timeout" | "malformed" | "provider_error" | "no_terminal";

/** A stream that had begun ended early (code `stream_interrupted`): nothing was restarted
 * silently. Carries the text delivered so far and the usage spent. */
export class StreamInterrupted extends ToolExecutionError {
  readonly reason: InterruptReason;
  readonly partial: string;
  readonly usage: { promptTokens: number; completionTokens: number; totalTokens: number };

  constructor(
    message: string,
    fields: ConstructorParameters<typeof ToolExecutionError>[1] & {
      reason: InterruptReason;
      partial: string;
      usage: { promptTokens: number; completionTokens: number; totalTokens: number };
    },
  ) {
    super(message, fields);
    this.reason = fields.reason;
    this.partial = fields.partial;
    this.usage = fields.usage;
  }
}

const RAW = "__reliableOrchestratorError";

/** Turns what the wasm module rejects with into the matching Error subclass. */
export function toError(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || !(RAW in raw)) return raw;
  const r = raw as Record<string, any>;
  const message = String(r.message);
  switch (r[RAW]) {
    case "ToolExecutionError":
      return new ToolExecutionError(message, r as any);
    case "BudgetExceeded":
      return new BudgetExceeded(message, r as any);
    case "ConflictError":
      return new ConflictError(message, r as any);
    case "StreamInterrupted":
      return new StreamInterrupted(message, r as any);
    default:
      return new OrchestratorError(message, r as any);
  }
}
