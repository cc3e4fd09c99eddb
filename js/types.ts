// Public types of reliable-orchestrator: configuration, run options, results, events.
// Names follow the seed in meaning, in camelCase; the seed's snake_case spellings are
// accepted at run time as well (e.g. `max_attempts`, `tool_name`, `idempotency_key`).
import type { AssistantMessage, BuiltinTool, Validate } from "./tools.js";
import type { ToolErrorCategory } from "./errors.js";
export type {
  AnthropicMessagesOptions, AssistantMessage, ChatRequest, OpenAiChatOptions, ProviderAuth, ToolCall, Validate,
} from "./tools.js";

/** Token counts a tool reports. A missing `totalTokens` is the sum of the parts. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** Usage as a tool may spell it (camelCase, snake_case, or Anthropic's input/output). */
export type UsageInput = Partial<Usage> & {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
};

/** What a tool is told about the call it is making. */
export interface ToolContext {
  traceId: string;
  requestId: string;
  /** 1-based attempt number for this tool within the run. */
  attempt: number;
  toolName: string;
  /** A W3C `traceparent` for this attempt (fresh span id). */
  traceparent: string;
  /** Aborted on attempt timeout, run deadline, or caller abort. */
  signal: AbortSignal;
  /** In a streaming run continuing after another tool's stream was interrupted: the text
   * already delivered, to continue from (as the assistant's prefix). */
  partial?: string;
}

/** One piece of a streamed answer, as a tool yields it. `usage` and `costUsd` are what this
 * chunk adds. A plain string is a chunk of text. */
export type ToolChunk = string | { text?: string; usage?: UsageInput; costUsd?: number; finishReason?: string };

/** What a tool returns. */
export interface ToolResult<O = unknown> {
  output: O;
  usage?: UsageInput;
  costUsd?: number | null;
  /** A normalised assistant message (plain JSON), passed to `validate` and returned as `result.message`. */
  message?: AssistantMessage | null;
}

/** A tool: its provider (whose circuit breaker guards it) and its call. Without type
 * arguments the request and output are `unknown`: narrow them, or write `Tool<Req, O>`. */
export interface Tool<Req = unknown, O = unknown> {
  provider?: string;
  execute(request: Req, toolOptions: Record<string, unknown> | undefined, ctx: ToolContext): ToolResult<O> | Promise<ToolResult<O>>;
  /** Streams the answer (for `runStream`): an async iterable or a `ReadableStream` of chunks.
   * Ending normally means the answer is complete; throwing ends it as interrupted. */
  stream?(
    request: Req,
    toolOptions: Record<string, unknown> | undefined,
    ctx: ToolContext,
  ): AsyncIterable<ToolChunk> | ReadableStream<ToolChunk> | Promise<AsyncIterable<ToolChunk> | ReadableStream<ToolChunk>>;
}

export type Operator =
  | "equals" | "not_equals" | "contains" | "in" | "exists" | "regex" | "gt" | "gte" | "lt" | "lte";

export interface Condition {
  /** Dotted path into the request (`metadata.quality`, `items.0.kind`). */
  path: string;
  op: Operator;
  value?: unknown;
}

/** `N`: the tool names a rule may choose (inferred; checked against the orchestrator's `tools`). */
export interface RuleAction<N extends string = string> {
  toolName: N;
  toolOptions?: Record<string, unknown>;
}

/** A custom rule: all conditions must hold. */
export interface CustomRule<N extends string = string> {
  name?: string;
  priority?: number;
  conditions: Condition[];
  action: RuleAction<N>;
}

/** A keyword rule (see `rules.keyword`). */
export interface KeywordRule<N extends string = string> {
  name?: string;
  priority?: number;
  keywords: string[];
  attribute?: string;
  toolName: N;
  toolOptions?: Record<string, unknown>;
}

/** A type rule (see `rules.type`). */
export interface TypeRule<N extends string = string> {
  name?: string;
  priority?: number;
  requestType: string;
  toolName: N;
  toolOptions?: Record<string, unknown>;
}

export type Rule<N extends string = string> = CustomRule<N> | KeywordRule<N> | TypeRule<N>;

export interface RetryPolicy {
  /** Calls per tool, the first included (1..=100, default 3). */
  maxAttempts?: number;
  /** Seconds before the first retry (default 1). */
  initialDelay?: number;
  /** Cap on any wait, seconds (default 30). */
  maxDelay?: number;
  /** Growth per retry (>= 1, default 2). */
  backoffFactor?: number;
  /** Honour Retry-After / retry-after-ms (default true). */
  respectRetryAfter?: boolean;
  /** Largest random fraction a wait is shortened by (0..=1, default 0.1). */
  jitter?: number;
}

export interface CircuitBreakerConfig {
  /** Retryable failures within the window that open the breaker (default 5). */
  failureThreshold?: number;
  /** Seconds before an open breaker half-opens (default 60). */
  timeout?: number;
  /** Seconds of failures counted (default 60). */
  windowSize?: number;
  /** Probes in flight at once while half-open (default 1). */
  halfOpenMaxCalls?: number;
  /** Successful probes that close the breaker (default 1). */
  successThreshold?: number;
}

export interface ReliabilityConfig {
  retryPolicy?: RetryPolicy;
  /** By provider name; `default` applies to providers not listed. */
  circuitBreakers?: Record<string, CircuitBreakerConfig>;
  idempotencyEnabled?: boolean;
  /** How long completed records are kept (ms, default one hour). */
  idempotencyTtlMs?: number;
  conflictDetection?: boolean;
  /** Store failures before the tool runs: "fail" (default) or "proceed". */
  idempotencyStoreFailure?: "fail" | "proceed";
  /** Default per-attempt timeout (ms). */
  attemptTimeoutMs?: number;
}

/** A key-value store for idempotency records. Values are strings; all methods may be async. */
export interface Store {
  get(key: string): Promise<string | null | undefined> | string | null | undefined;
  put(key: string, value: string, options: { ttlMs: number }): Promise<unknown> | unknown;
  delete(key: string): Promise<unknown> | unknown;
  /** An atomic compare-and-set; when present it is used to claim keys. */
  putIfAbsent?(key: string, value: string, options: { ttlMs: number }): Promise<boolean> | boolean;
  /** Atomically replaces `oldValue` (exactly) with `newValue`; answers whether it did. Lets an
   * expired record still held by a coarse-TTL store be replaced once-only. */
  compareAndSwap?(key: string, oldValue: string, newValue: string, options: { ttlMs: number }): Promise<boolean> | boolean;
  consistency?: "strong" | "eventual";
}

export type OrchestratorEvent = {
  at: number;
  traceId?: string;
  requestId?: string;
} & (
  | { type: "plan"; toolName: string; fallbacks: string[]; rule: string | null; skipped: string[] }
  | { type: "attempt"; toolName: string; attempt: number; fittedMaxTokens?: number }
  | { type: "retry"; toolName: string; attempt: number; delayMs: number; reason: ToolErrorCategory }
  | { type: "fallback"; from: string; to: string; reason: FallbackReason }
  | { type: "breaker"; provider: string; from: CircuitStateName | null; to: CircuitStateName | null; reason: string | null; message?: string }
  | { type: "idempotency"; outcome: IdempotencyOutcome; key: string }
  | { type: "budget"; budgetType: BudgetType; limit: number; spent: number; requested?: number }
  | { type: "first_chunk"; toolName: string; attempt: number; ttftMs: number }
  | { type: "stream_end"; chunks: number; elapsedMs: number }
  | { type: "stream_interrupted"; toolName: string; reason: InterruptReason }
);

/** Why a tool was left for the next one in the plan. */
export type FallbackReason = "retries_exhausted" | "retry_after_too_long" | "circuit_open" | "no_time_to_wait" | "stream_interrupted";

/** What idempotency did for a run. */
export type IdempotencyOutcome = "miss" | "hit" | "joined" | "conflict" | "store_failed";

/** Why a stream that had begun ended early. */
export type InterruptReason = "cut" | "idle_timeout" | "malformed" | "provider_error" | "no_terminal";

export interface PlannerLike<N extends string = string> {
  rules: Rule<N>[];
}

/** The tools an orchestrator may be given, by name. */
export type ToolSet = Record<string, Tool | BuiltinTool>;

/** `Tools` is inferred from `tools`; rule actions and `defaultTools` must name one of its keys. */
export interface OrchestratorConfig<Tools extends ToolSet = ToolSet> {
  planner?: PlannerLike<keyof Tools & string> | Rule<keyof Tools & string>[];
  /** Your tools and built-in ones (`openaiChat`, `anthropicMessages`, `bundle`). */
  tools: Tools;
  defaultTools?: (keyof Tools & string)[];
  reliability?: ReliabilityConfig;
  store?: Store;
  onEvent?: (event: OrchestratorEvent) => void;
}

export type BudgetType = "tokens" | "costUsd" | "timeMs";

export interface Budget {
  tokens?: number;
  costUsd?: number;
  timeMs?: number;
}

/** `N`: the orchestrator's tool names (`toolName` must be one of them). */
export interface RunOptions<N extends string = string> {
  toolName?: N;
  toolOptions?: Record<string, unknown>;
  idempotencyKey?: string;
  traceId?: string;
  requestId?: string;
  /** An incoming W3C traceparent header; supplies the trace id when `traceId` is absent. */
  traceparent?: string;
  budget?: Budget;
  timeoutMs?: number;
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
  /** Checks each tool output; throwing, rejecting or returning `false` makes the attempt a retryable `invalid_output`. */
  validate?: Validate;
}

/** Options of `runStream`: those of `run`, and the stream's own. */
export interface StreamOptions extends RunOptions {
  /** Longest wait for a first chunk with text (ms): a retryable timeout that counts against the breaker. */
  firstChunkTimeoutMs?: number;
  /** Longest gap between chunks once text has flowed (ms): past it the stream is interrupted. */
  idleTimeoutMs?: number;
  /** An interrupted stream fails (`"fail"`, default) or continues on the plan's next tool. */
  onInterrupt?: "fail" | "continue";
}

/** One piece of a streamed answer, as `runStream` delivers it. */
export interface StreamChunk {
  text: string;
}

export interface RunResult<O = unknown> {
  output: O;
  toolName: string;
  attempts: number;
  cached: boolean;
  usage: Usage;
  costUsd: number | null;
  /** The built-in tool's normalised reply (or the `message` a JS tool returned); `null` when there is none. */
  message: AssistantMessage | null;
  traceId: string;
  requestId: string;
  elapsedMs: number;
  /** Why the answer ended, when the tool said (streams: the provider's finish reason). */
  finishReason?: string;
}

export type CircuitStateName = "closed" | "open" | "half_open";

export interface CircuitStateSnapshot {
  state: CircuitStateName;
  failures: number;
  failureThreshold: number;
  openedAt: number | null;
  halfOpenAt: number | null;
  probesInFlight: number;
  successes: number;
}

/** Exported breaker state: plain JSON with wall-clock times. */
export interface BreakerState {
  version: number;
  breakers: Record<string, { state: CircuitStateName; openedAt?: number; failures?: number[]; successes?: number }>;
}
