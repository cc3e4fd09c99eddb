import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleAll, retry, wrap } from "cockatiel";
const { ReliableOrchestrator, RuleBasedPlanner, rules } = await import(process.env.PKG ?? "reliable-orchestrator");
const noop = async (request) => ({ output: request });
const rawTool = async (request) => request;
const pol = wrap(retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 1000, maxDelay: 30_000 }) }), circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }));
const reliability = { retryPolicy: { maxAttempts: 3, initialDelay: 1, maxDelay: 30, backoffFactor: 2 }, circuitBreakers: { default: { failureThreshold: 5, timeout: 60 } } };
const tools = { noop: { provider: "p", execute: noop } };
const plain = new ReliableOrchestrator({ tools, defaultTools: ["noop"], reliability });
const ten = new ReliableOrchestrator({ planner: new RuleBasedPlanner(Array.from({ length: 10 }, (_, i) => rules.keyword({ keywords: [`never-${i}`], attribute: "query", toolName: "noop", priority: i }))), tools, defaultTools: ["noop"], reliability });
const request = { query: "hello" };
const cases = { cockatiel: () => pol.execute(() => rawTool(request)), plain: () => plain.run(request), ten: () => ten.run(request), rid: () => plain.run(request, { requestId: "req-1" }) };
const best = {};
for (let r = 0; r < 15; r++) for (const [k, f] of Object.entries(cases)) {
  const n = 50000; const t = performance.now(); for (let i = 0; i < n; i++) await f(); const us = (performance.now() - t) / n * 1000;
  best[k] = Math.min(best[k] ?? Infinity, us);
}
console.log(Object.fromEntries(Object.entries(best).map(([k, v]) => [k, v.toFixed(3) + " (" + (v / best.cockatiel).toFixed(2) + "x)"])));
