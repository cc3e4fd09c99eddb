// The tiny app every bundle and runtime runs: one run() whose tool fails once with a 503 and
// then succeeds, so the answer proves the wasm loaded, planned by a rule and retried.
export async function demo({ ReliableOrchestrator, RuleBasedPlanner, rules }) {
  let calls = 0;
  const orchestrator = new ReliableOrchestrator({
    planner: new RuleBasedPlanner([rules.keyword({ keywords: ["hello"], toolName: "flaky" })]),
    tools: {
      flaky: {
        provider: "demo",
        execute: async () => {
          calls += 1;
          if (calls === 1) throw { status: 503 };
          return { output: "ok after retry" };
        },
      },
    },
    reliability: { retryPolicy: { maxAttempts: 3, initialDelay: 0.01, maxDelay: 0.05 } },
  });
  const result = await orchestrator.run("hello there");
  return `${result.output}; tool=${result.toolName}; attempts=${result.attempts}; calls=${calls}`;
}

export const expected = "ok after retry; tool=flaky; attempts=2; calls=2";

export function show(text) {
  document.getElementById("result").textContent = text;
}
