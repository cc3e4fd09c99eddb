// The Worker's bindings (wrangler.toml) and the configuration read from them.
import type { DurableObjectNamespaceLike, KvNamespaceLike } from "reliable-orchestrator";

export interface Env {
  /** Workers KV: eventually consistent idempotency records (best effort across locations). */
  IDEMPOTENCY_KV: KvNamespaceLike;
  /** Durable Objects: strongly consistent records (once-only everywhere) and breaker state. */
  IDEMPOTENCY_DO: DurableObjectNamespaceLike;
  /** OpenAI-compatible base URL (the mock provider's `/v1` locally). */
  PROVIDER_BASE_URL: string;
  /** Anthropic base URL (defaults to PROVIDER_BASE_URL: the mock speaks both). */
  ANTHROPIC_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  ANTHROPIC_API_KEY?: string;
  /** `durable_object` (default) or `kv`. */
  IDEMPOTENCY_STORE?: string;
  /** Seconds an open breaker waits before its half-open probe (default 30). */
  BREAKER_TIMEOUT_S?: string;
  /**
   * `true`: build a fresh orchestrator per request, as if every request landed in its own
   * isolate (no shared in-memory single-flight). Tests use it to prove the store alone keeps
   * duplicates from executing twice.
   */
  SIMULATE_ISOLATES?: string;
  /** The local mock provider's root URL: enables POST /demo/fault (the monitor's buttons). */
  MOCK_CONTROL_URL?: string;
}

export type StoreKind = "kv" | "durable_object";

export function storeKind(env: Env): StoreKind {
  return env.IDEMPOTENCY_STORE === "kv" ? "kv" : "durable_object";
}
