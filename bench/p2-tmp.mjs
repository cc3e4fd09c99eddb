const { ReliableOrchestrator, RuleBasedPlanner, rules } = await import(process.env.PKG ?? "reliable-orchestrator");
const noop = async (request) => ({ output: request });
const reliability = { retryPolicy: { maxAttempts: 3, initialDelay: 1, maxDelay: 30, backoffFactor: 2 }, circuitBreakers: { default: { failureThreshold: 5, timeout: 60 } } };
const ten = new ReliableOrchestrator({ planner: new RuleBasedPlanner(Array.from({ length: 10 }, (_, i) => rules.keyword({ keywords: [`never-${i}`], attribute: "query", toolName: "noop", priority: i }))), tools: { noop: { provider: "p", execute: noop } }, defaultTools: ["noop"], reliability });
const request = { query: "hello" };
for (let i = 0; i < 2e6; i++) await ten.run(request);
