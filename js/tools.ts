// Built-in tools: model providers over fetch and bundles of replicates. Each returns a
// descriptor the orchestrator builds into a Rust tool; the options (API key included) are
// kept non-enumerable so logging or JSON.stringify-ing your tools never prints the key.
import type { Tool, Usage } from "./types.js";

/** US dollars per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/**
 * How the key is sent: `"bearer"` (`Authorization: Bearer <key>`, OpenAI's default),
 * `{ header: "api-key" }` (the key as that header's value; Anthropic's default is
 * `{ header: "x-api-key" }`), or `"none"` (no key: a local server).
 */
export type ProviderAuth = "bearer" | "none" | { header: string };

/** Checks a reply: throwing, rejecting or returning `false` makes the attempt a retryable `invalid_output`. */
export type Validate<O = unknown> = (output: O, message: AssistantMessage | null) => unknown;

/** One tool call the model asked for. */
export interface ToolCall {
  id: string | null;
  name: string;
  /** The parsed JSON object when the provider's arguments parse as one, else the raw string. */
  arguments: Record<string, unknown> | string;
}

/** A built-in tool's reply, normalised across formats (`result.message`). */
export interface AssistantMessage {
  /** The reply text ("" when there is none); also the result's `output`. */
  text: string;
  toolCalls: ToolCall[];
  /** Why the model declined (OpenAI `message.refusal`; Anthropic `stop_reason: "refusal"`). */
  refusal: string | null;
  /** `stop`, `length` (truncated), `tool_calls`, `content_filter`, or the provider's own reason. */
  finishReason: string | null;
}

/** A request to a built-in provider tool (a string or `{ query }` is one user message). */
export interface ChatRequest {
  query?: string;
  messages?: unknown[];
  system?: string;
  /** Tool definitions in the provider's own format. */
  tools?: unknown[];
  /** The provider's tool choice (`"auto"`, `{ type: "function", ... }`, `{ type: "any" }`, ...). */
  toolChoice?: string | Record<string, unknown>;
  /** OpenAI `response_format` (JSON mode or schema); not sent to Anthropic, which has none. */
  responseFormat?: Record<string, unknown>;
  maxTokens?: number;
  temperature?: number;
}

/** Options of `openaiChat` and `anthropicMessages` (snake_case spellings accepted). */
export interface ProviderToolOptions {
  /** Sent as `auth` says (default `Authorization: Bearer` for OpenAI, `x-api-key` for Anthropic). Never logged or stored. */
  apiKey?: string;
  /** How the key is sent (default: the format's own way). */
  auth?: ProviderAuth;
  /** Query parameters on every call (Azure's `api-version`, say). */
  query?: Record<string, string | number | boolean>;
  model: string;
  /** Default: the provider's public API (`https://api.openai.com/v1`, `https://api.anthropic.com/v1`). */
  baseUrl?: string;
  /** Output token limit (Anthropic default 1024); also the budget pre-check's estimate. */
  maxTokens?: number;
  temperature?: number;
  /** Extra headers on every call; values of credential headers (auth, key, token...) are redacted from errors like `apiKey`. */
  headers?: Record<string, string>;
  /** Checks each reply before the run accepts it (see `Validate`). */
  validate?: Validate<string>;
  /** Prices over the built-in table; a model with no price has `costUsd: null`. */
  pricing?: Record<string, ModelPrice>;
  /** The circuit breaker this tool reports to (default `openai` / `anthropic`). */
  provider?: string;
}

/** A built-in tool, as `openaiChat`, `anthropicMessages` and `bundle` return it. */
export interface BuiltinTool {
  readonly __reliableOrchestratorTool: "openaiChat" | "anthropicMessages" | "bundle";
  readonly provider: string;
}

/** Options of `bundle`. */
export interface BundleToolOptions {
  /** The tool to replicate: a built-in tool or your own. */
  tool: Tool | BuiltinTool;
  /** Replicates at most (default 3; `toolOptions.k` overrides per run). */
  k?: number;
  /** Stop once the leading answer's share is at least `1 - epsilon` (default 0.1; `toolOptions.epsilon`). */
  epsilon?: number;
  /** Replicates in flight at once (default 2). */
  concurrency?: number;
  /** `normalized` (default: trimmed, lowercased, whitespace collapsed, trailing .!? dropped) or `exact`. */
  compare?: "normalized" | "exact";
  /** Fewer successful replicates than this fail the bundle (default 1). */
  minSuccesses?: number;
  /** Checks the bundle's output before the run accepts it (see `Validate`). */
  validate?: Validate<BundleOutput<any>>;
}

/** One replicate of a bundle. */
export interface BundleReplicate<O = string> {
  output: O | null;
  usage: Usage | null;
  costUsd: number | null;
  /** Why it failed; `category: "aborted"` when it was stopped because the consensus was settled. */
  error?: { category: string; message: string; status?: number };
}

/** What a bundle returns as `output`. */
export interface BundleOutput<O = string> {
  /** The leading answer (its first replicate's output). */
  consensus: O;
  /** The leading answer's share of successful replicates (0..1). */
  agreement: number;
  /** `(leader + 1) / (answers + 2)`: the chance one more replicate would agree. */
  confidence: number;
  replicates: BundleReplicate<O>[];
  /** Each differing answer once. */
  disagreements: O[];
}

function describe(kind: BuiltinTool["__reliableOrchestratorTool"], provider: string, options: object, extra?: object): BuiltinTool {
  const tool = { __reliableOrchestratorTool: kind, provider, ...extra };
  Object.defineProperty(tool, "options", { value: options, enumerable: false });
  return Object.freeze(tool);
}

function providerOf(options: ProviderToolOptions | undefined, fallback: string): string {
  return typeof options?.provider === "string" ? options.provider : fallback;
}

/** Options of `openaiChat`. */
export interface OpenAiChatOptions extends ProviderToolOptions {
  /**
   * Output limit sent as `max_completion_tokens` (it is sent under that name anyway for
   * o-series and gpt-5 models, which reject `max_tokens`).
   */
  maxCompletionTokens?: number;
}

/** Options of `anthropicMessages`. */
export interface AnthropicMessagesOptions extends ProviderToolOptions {
  /** The `anthropic-version` header (default `2023-06-01`). */
  anthropicVersion?: string;
}

/** An OpenAI Chat Completions tool (also for gateways and local servers speaking that format). */
export function openaiChat(options: OpenAiChatOptions): BuiltinTool {
  return describe("openaiChat", providerOf(options, "openai"), { ...options });
}

/** An Anthropic Messages tool. */
export function anthropicMessages(options: AnthropicMessagesOptions): BuiltinTool {
  return describe("anthropicMessages", providerOf(options, "anthropic"), { ...options });
}

/** Runs `k` replicates of a tool and returns the evidence bundle, stopping early once settled. */
export function bundle(options: BundleToolOptions): BuiltinTool {
  const { tool, ...rest } = options ?? ({} as BundleToolOptions);
  const provider = (tool as { provider?: unknown } | undefined)?.provider;
  return describe("bundle", typeof provider === "string" ? provider : "default", rest, { tool });
}
