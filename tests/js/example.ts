// A typed usage example: must compile under `tsc --strict` and run against the package, and
// what it shows is asserted (a failed assertion exits non-zero and fails the suite).
import assert from "node:assert/strict";
import {
  ReliableOrchestrator, RuleBasedPlanner, rules, memoryStore,
  OrchestratorError, ToolExecutionError, BudgetExceeded, ConflictError,
  type OrchestratorEvent, type RunResult, type Tool,
} from "reliable-orchestrator";

interface Answer { text: string; }

const analysis: Tool<{ query: string }, Answer> = {
  provider: "openai",
  execute: async (request, toolOptions, ctx) => ({
    output: { text: `analysed ${request.query} (attempt ${ctx.attempt}, k=${String(toolOptions?.k ?? "-")})` },
    usage: { promptTokens: 12, completionTokens: 30 },
    costUsd: 0.001,
  }),
};

const events: OrchestratorEvent["type"][] = [];
const orchestrator = new ReliableOrchestrator({
  planner: new RuleBasedPlanner([
    rules.keyword({ keywords: ["deep", "comprehensive"], attribute: "query", toolName: "deep_analysis", priority: 20 }),
    rules.type({ requestType: "validation", toolName: "validator", priority: 10 }),
    { name: "high_quality", priority: 30,
      conditions: [{ path: "type", op: "equals", value: "analysis" }, { path: "metadata.quality", op: "equals", value: "high" }],
      action: { toolName: "deep_analysis", toolOptions: { k: 7 } } },
  ]),
  tools: { deep_analysis: analysis, validator: { execute: () => ({ output: { text: "valid" } }) } },
  defaultTools: ["validator"],
  reliability: {
    retryPolicy: { maxAttempts: 3, initialDelay: 0.01, maxDelay: 1, backoffFactor: 2, respectRetryAfter: true },
    circuitBreakers: { openai: { failureThreshold: 5, timeout: 60, windowSize: 300 } },
    idempotencyEnabled: true, idempotencyTtlMs: 3_600_000, conflictDetection: true,
  },
  store: memoryStore(),
  onEvent: (e) => { events.push(e.type); },
});

const controller = new AbortController();
const result: RunResult<Answer> = await orchestrator.run<Answer>(
  { type: "analysis", query: "deep market trends", metadata: { quality: "high" } },
  { idempotencyKey: "analysis-123", traceId: "trace-456", budget: { tokens: 1000, costUsd: 0.1 }, timeoutMs: 20_000, signal: controller.signal },
);
const text: string = result.output.text;
const states = orchestrator.circuitStates();
const openai: "closed" | "open" | "half_open" | undefined = states.openai?.state;

assert.equal(text, "analysed deep market trends (attempt 1, k=7)");
assert.equal(result.toolName, "deep_analysis");
assert.equal(result.cached, false);
assert.equal(result.attempts, 1);
assert.equal(result.traceId, "trace-456");
assert.equal(result.usage.totalTokens, 42);
assert.equal(openai, "closed");
assert.deepEqual(events.slice(0, 3), ["idempotency", "plan", "attempt"]);

let conflict: unknown;
try {
  await orchestrator.run({ query: "other" }, { idempotencyKey: "analysis-123" });
} catch (error) {
  conflict = error;
  if (error instanceof ConflictError) console.log("conflict:", error.key, error.reason);
  else if (error instanceof BudgetExceeded) console.log(error.budgetType, error.spent);
  else if (error instanceof ToolExecutionError) console.log(error.toolName, error.category);
  else if (error instanceof OrchestratorError) console.log(error.code);
}
assert.ok(conflict instanceof ConflictError, String(conflict));
assert.equal(conflict.reason, "fingerprint_mismatch");
const replay = await orchestrator.run<Answer>(
  { type: "analysis", query: "deep market trends", metadata: { quality: "high" } },
  { idempotencyKey: "analysis-123" },
);
assert.equal(replay.cached, true);
assert.deepEqual(replay.output, result.output);
console.log(JSON.stringify({ text, cached: result.cached, tool: result.toolName, openai, events }));

// Built-in tools type-check as tools; a bundle's output is typed.
import { openaiChat, anthropicMessages, bundle, type BundleOutput } from "reliable-orchestrator";
const withProviders = new ReliableOrchestrator({
  tools: {
    gpt: openaiChat({ apiKey: "sk-example", model: "gpt-4o-mini", maxTokens: 256, pricing: { "gpt-4o-mini": { inputPerMTok: 0.15, outputPerMTok: 0.6 } } }),
    claude: anthropicMessages({ apiKey: "example", model: "claude-3-5-haiku-latest" }),
    panel: bundle({ tool: analysis, k: 5, epsilon: 0.1, compare: "exact" }),
  },
  defaultTools: ["gpt", "claude"],
});
const panel: RunResult<BundleOutput<Answer>> = await withProviders.run<BundleOutput<Answer>>({ query: "deep" }, { toolName: "panel" });
assert.match(panel.output.consensus.text, /^analysed deep \(attempt \d+, k=-\)$/);
assert.ok(panel.output.replicates.length >= 2 && panel.output.replicates.length <= 5);
console.log(JSON.stringify({ consensus: panel.output.consensus.text, agreement: panel.output.agreement, calls: panel.output.replicates.length }));
