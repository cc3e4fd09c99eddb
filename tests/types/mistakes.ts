// Type tests: compiled with `tsc --noEmit --strict` against the packed package (scripts/test-js.sh).
// Every `@ts-expect-error` marks a mistake the types must catch: if one stops being an error,
// tsc reports the unused directive and the js stage fails. Never run, only type-checked.
import {
  ReliableOrchestrator, RuleBasedPlanner, rules, memoryStore, openaiChat,
  OrchestratorError, ToolExecutionError, BudgetExceeded, ConflictError,
  type Tool, type BreakerState, type RunResult,
} from "reliable-orchestrator";
import { RuleBasedPlanner as LightPlanner, rules as lightRules, type Rule } from "reliable-orchestrator/rules";
import * as embedded from "reliable-orchestrator/embedded";

interface Answer { text: string }
const analysis: Tool<{ query: string }, Answer> = {
  provider: "openai",
  execute: async (request) => ({ output: { text: request.query } }),
};

// A Tool without type arguments has an unknown request: using it unchecked is an error.
const untyped: Tool = {
  // @ts-expect-error request is unknown, not any
  execute: (request) => ({ output: request.query }),
};
void untyped;

const orchestrator = new ReliableOrchestrator({
  planner: new RuleBasedPlanner([
    rules.keyword({ keywords: ["deep"], toolName: "deep_analysis" }),
    rules.type({ requestType: "validation", toolName: "validator" }),
    { conditions: [{ path: "type", op: "equals", value: "x" }], action: { toolName: "deep_analysis" } },
  ]),
  tools: { deep_analysis: analysis, validator: { execute: () => ({ output: "valid" }) }, gpt: openaiChat({ model: "gpt-4o-mini" }) },
  defaultTools: ["validator", "gpt"],
  store: memoryStore(),
});

export async function checks(): Promise<void> {
  const ok: RunResult<Answer> = await orchestrator.run<Answer>({ query: "q" }, { toolName: "deep_analysis" });
  void ok;
  // @ts-expect-error unknown toolName
  await orchestrator.run("q", { toolName: "deep_analysys" });
  // @ts-expect-error wrong option type
  await orchestrator.run("q", { timeoutMs: "20s" });
  // @ts-expect-error wrong option type
  await orchestrator.run("q", { budget: { tokens: "many" } });

  try {
    await orchestrator.run("q");
  } catch (e) {
    if (e instanceof ToolExecutionError) {
      // @ts-expect-error misspelt category
      if (e.category === "rate_limitt") return;
      if (e.category === "rate_limit") return;
    }
    if (e instanceof OrchestratorError) {
      // @ts-expect-error misspelt code
      if (e.code === "budget_exceded") return;
    }
    if (e instanceof BudgetExceeded) {
      // @ts-expect-error not a budget type
      if (e.budgetType === "dollars") return;
    }
    if (e instanceof ConflictError) {
      // @ts-expect-error not a conflict reason
      if (e.reason === "mismatch") return;
    }
  }

  const state: BreakerState = orchestrator.exportState();
  orchestrator.importState(state);
  // @ts-expect-error importState takes exported breaker state, not anything
  orchestrator.importState("open");
}

// Rule tool names must be tools of the orchestrator.
new ReliableOrchestrator({
  // @ts-expect-error a rule names a tool that is not in tools
  planner: new RuleBasedPlanner([rules.keyword({ keywords: ["x"], toolName: "missing" })]),
  tools: { present: analysis },
});
new ReliableOrchestrator({
  // @ts-expect-error an inline rule names a tool that is not in tools
  planner: [{ conditions: [], action: { toolName: "missing" } }],
  tools: { present: analysis },
});
new ReliableOrchestrator({
  tools: { present: analysis },
  // @ts-expect-error a default tool that is not in tools
  defaultTools: ["absent"],
});
new ReliableOrchestrator({
  tools: { present: analysis },
  // @ts-expect-error wrong option type
  reliability: { retryPolicy: { maxAttempts: "3" } },
});
new ReliableOrchestrator({
  // @ts-expect-error not a tool
  tools: { present: { run: () => "x" } },
});

// A plain ReliableOrchestrator (no type argument) holds any orchestrator.
const held: ReliableOrchestrator = orchestrator;
void held;

// The light and embedded entries carry the same types.
const lightRule: Rule = lightRules.keyword({ keywords: ["a"], toolName: "a" });
new LightPlanner([lightRule]);
const fromEmbedded: typeof ReliableOrchestrator = embedded.ReliableOrchestrator;
void fromEmbedded;
