// Built-in tools: model providers over fetch and bundles of replicates. Each returns a
// descriptor the orchestrator builds into a Rust tool; the options (API key included) are
// kept non-enumerable so logging or JSON.stringify-ing your tools never prints the key.
import type { Tool, Usage } from "./types.js";

/** US dollars per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** Options of `openaiChat` and `anthropicMessages` (snake_case spellings accepted). */
export interface ProviderToolOptions {
  /** Sent as `Authorization: Bearer` (OpenAI) or `x-api-key` (Anthropic). Never logged or stored. */
  apiKey?: string;
  model: string;
  /** Default: the provider's public API (`https://api.openai.com/v1`, `https://api.anthropic.com/v1`). */
  baseUrl?: string;
  /** Output token limit (Anthropic default 1024); also the budget pre-check's estimate. */
  maxTokens?: number;
  temperature?: number;
  /** Extra headers on every call. */
  headers?: Record<string, string>;
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

/** An OpenAI Chat Completions tool (also for gateways and local servers speaking that format). */
export function openaiChat(options: ProviderToolOptions): BuiltinTool {
  return describe("openaiChat", providerOf(options, "openai"), { ...options });
}

/** An Anthropic Messages tool. */
export function anthropicMessages(options: ProviderToolOptions): BuiltinTool {
  return describe("anthropicMessages", providerOf(options, "anthropic"), { ...options });
}

/** Runs `k` replicates of a tool and returns the evidence bundle, stopping early once settled. */
export function bundle(options: BundleToolOptions): BuiltinTool {
  const { tool, ...rest } = options ?? ({} as BundleToolOptions);
  const provider = (tool as { provider?: unknown } | undefined)?.provider;
  return describe("bundle", typeof provider === "string" ? provider : "default", rest, { tool });
}
