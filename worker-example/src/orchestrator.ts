// The orchestrator this Worker runs: the seed's rules over the built-in provider tools, the
// idempotency store chosen by configuration, and breaker state shared across isolates through
// a Durable Object. Built lazily on the first request (Workers forbid timers and randomness at
// module scope), then kept for the isolate's life.
import {
  ReliableOrchestrator, RuleBasedPlanner, rules, openaiChat, anthropicMessages, bundle,
  workersKvStore, durableObjectStore, type OrchestratorEvent, type Store,
} from "reliable-orchestrator";
import { storeKind, type Env, type StoreKind } from "./env.js";

/** Where breaker state lives in the Durable Object store. */
const BREAKER_KEY = "ro:breakers:v1";
const BREAKER_TTL_MS = 24 * 3600_000;
/** How stale this isolate's copy of the shared breaker state may get. */
const BREAKER_SYNC_MS = 2_000;

export interface Isolate {
  orchestrator: ReliableOrchestrator;
  store: StoreKind;
  /** Events of runs in progress, by request id (a run's timeline for the response). */
  timelines: Map<string, OrchestratorEvent[]>;
  /** Every run's events, most recent last (bounded), numbered for the monitor. */
  recent: (OrchestratorEvent & { seq: number })[];
  seq: number;
  breakerStore: Store;
  breakerSyncedAt: number;
  breakerDirty: boolean;
}

const RECENT_EVENTS = 500;

function build(env: Env): Isolate {
  const openai = { apiKey: env.OPENAI_API_KEY, baseUrl: env.PROVIDER_BASE_URL };
  const anthropic = { apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL ?? env.PROVIDER_BASE_URL };
  const kind = storeKind(env);
  const isolate: Isolate = {
    orchestrator: undefined as unknown as ReliableOrchestrator,
    store: kind,
    timelines: new Map(),
    recent: [],
    seq: 0,
    breakerStore: durableObjectStore(env.IDEMPOTENCY_DO),
    breakerSyncedAt: -Infinity,
    breakerDirty: false,
  };
  isolate.orchestrator = new ReliableOrchestrator({
    planner: new RuleBasedPlanner([
      rules.keyword({ keywords: ["deep", "comprehensive"], attribute: "query", toolName: "deep_analysis", priority: 20 }),
      rules.type({ requestType: "validation", toolName: "validator", priority: 10 }),
      { name: "high_quality", priority: 30,
        conditions: [{ path: "type", op: "equals", value: "analysis" }, { path: "metadata.quality", op: "equals", value: "high" }],
        action: { toolName: "premium_analysis", toolOptions: { k: 3 } } },
    ]),
    tools: {
      deep_analysis: openaiChat({ ...openai, model: "gpt-4o", maxTokens: 512 }),
      validator: anthropicMessages({ ...anthropic, model: "claude-3-5-haiku-latest", maxTokens: 256 }),
      premium_analysis: bundle({ tool: openaiChat({ ...openai, model: "gpt-4o", maxTokens: 512 }), k: 3, epsilon: 0.1 }),
      quick: openaiChat({ ...openai, model: "gpt-4o-mini", maxTokens: 256 }),
      fallback: anthropicMessages({ ...anthropic, model: "claude-3-5-haiku-latest", maxTokens: 256 }),
    },
    defaultTools: ["quick", "fallback"],
    reliability: {
      retryPolicy: { maxAttempts: 3, initialDelay: 0.2, maxDelay: 5, backoffFactor: 2, jitter: 0.1, respectRetryAfter: true },
      circuitBreakers: {
        openai: { failureThreshold: 3, timeout: Number(env.BREAKER_TIMEOUT_S ?? 30), windowSize: 60 },
        anthropic: { failureThreshold: 3, timeout: Number(env.BREAKER_TIMEOUT_S ?? 30), windowSize: 60 },
      },
      idempotencyEnabled: true,
      idempotencyTtlMs: 3_600_000,
      conflictDetection: true,
    },
    store: kind === "kv" ? workersKvStore(env.IDEMPOTENCY_KV) : durableObjectStore(env.IDEMPOTENCY_DO),
    onEvent: (event) => {
      if (event.type === "breaker") isolate.breakerDirty = true;
      const requestId: string | undefined = event.requestId;
      if (requestId !== undefined) isolate.timelines.get(requestId)?.push(event);
      isolate.seq += 1;
      isolate.recent.push({ ...event, seq: isolate.seq });
      if (isolate.recent.length > RECENT_EVENTS) isolate.recent.splice(0, isolate.recent.length - RECENT_EVENTS);
    },
  });
  return isolate;
}

let shared: Isolate | undefined;

/** This isolate's orchestrator (or a fresh one per request under SIMULATE_ISOLATES). */
export function isolateFor(env: Env): Isolate {
  if (env.SIMULATE_ISOLATES === "true") return build(env);
  shared ??= build(env);
  return shared;
}

/** Brings this isolate's breakers up to date with the shared state, at most every 2 s. */
export async function pullBreakers(isolate: Isolate): Promise<void> {
  if (Date.now() - isolate.breakerSyncedAt < BREAKER_SYNC_MS) return;
  isolate.breakerSyncedAt = Date.now();
  try {
    const saved = await isolate.breakerStore.get(BREAKER_KEY);
    if (typeof saved === "string") isolate.orchestrator.importState(JSON.parse(saved));
  } catch {
    // Shared state is an optimisation: without it each isolate keeps its own breakers.
  }
}

/** Publishes this isolate's breakers when a run changed them (last writer wins). */
export async function pushBreakers(isolate: Isolate): Promise<void> {
  if (!isolate.breakerDirty) return;
  isolate.breakerDirty = false;
  try {
    await isolate.breakerStore.put(BREAKER_KEY, JSON.stringify(isolate.orchestrator.exportState()), { ttlMs: BREAKER_TTL_MS });
  } catch {
    isolate.breakerDirty = true;
  }
}
