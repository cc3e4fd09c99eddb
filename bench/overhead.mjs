// Overhead per run() over a no-op async tool, in one process, interleaved rounds (tinybench):
// a raw call, cockatiel retry + breaker, ours with the same policy, ours planning over 10
// rules, ours with a request id passed in, ours with an `onEvent` listener (a no-op), and
// ours with idempotency on memoryStore (miss and hit; these go through the async Rust driver).
import { Bench } from "tinybench";
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleAll, retry, wrap } from "cockatiel";
import { ReliableOrchestrator, RuleBasedPlanner, rules, memoryStore, openaiChat } from "reliable-orchestrator";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 400);

export async function overhead() {
  const noop = async (request) => ({ output: request });
  const rawTool = async (request) => request;
  const cockatielPolicy = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 1000, maxDelay: 30_000 }) }),
    circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
  );
  const reliability = {
    retryPolicy: { maxAttempts: 3, initialDelay: 1, maxDelay: 30, backoffFactor: 2 },
    circuitBreakers: { default: { failureThreshold: 5, timeout: 60 } },
  };
  const tools = { noop: { provider: "p", execute: noop } };
  const plain = new ReliableOrchestrator({ tools, defaultTools: ["noop"], reliability });
  const listened = new ReliableOrchestrator({ tools, defaultTools: ["noop"], reliability, onEvent: () => {} });
  const tenRules = new ReliableOrchestrator({
    planner: new RuleBasedPlanner(
      Array.from({ length: 10 }, (_, i) => rules.keyword({ keywords: [`never-${i}`], attribute: "query", toolName: "noop", priority: i })),
    ),
    tools,
    defaultTools: ["noop"],
    reliability,
  });
  const keyed = new ReliableOrchestrator({ tools, defaultTools: ["noop"], reliability: { ...reliability, idempotencyEnabled: true }, store: memoryStore() });
  const request = { query: "hello" };
  // A built-in provider tool over a stub fetch (a ready Response, no network), against the
  // same stub fetched and parsed by hand: what the library adds around one provider call.
  const reply = JSON.stringify({ choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
  const stubFetch = async () => new Response(reply, { status: 200, headers: { "content-type": "application/json" } });
  const rawFetch = async () => {
    const r = await stubFetch("https://api.openai.com/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }) });
    return JSON.parse(await r.text()).choices[0].message.content;
  };
  const builtin = new ReliableOrchestrator({ tools: { gpt: openaiChat({ apiKey: "sk-bench", model: "gpt-4o-mini" }) }, defaultTools: ["gpt"], reliability });
  let miss = 0;
  await keyed.run(request, { idempotencyKey: "hit" });

  const cases = {
    "(a) raw call": () => rawTool(request),
    "(b) cockatiel retry + breaker": () => cockatielPolicy.execute(() => rawTool(request)),
    "(c) ours, same policy": () => plain.run(request),
    "(d) ours, 10 rules": () => tenRules.run(request),
    "(c') ours, with { requestId }": () => plain.run(request, { requestId: "req-1" }),
    "(c'') ours, with an onEvent listener": () => listened.run(request),
    "(e) ours, idempotency miss": () => keyed.run(request, { idempotencyKey: `m${miss++}` }),
    "(e) ours, idempotency hit": () => keyed.run(request, { idempotencyKey: "hit" }),
    "(f) raw fetch + JSON, stub fetch": () => rawFetch(),
    "(f) ours, built-in openaiChat, stub fetch": () => builtin.run("hello"),
  };
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, { p50: [], p99: [], mean: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh bench per round, tasks in a rotated order: interleaved, so drift hits all alike.
    const names = Object.keys(cases);
    const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
    const bench = new Bench({ time: TIME_MS, warmupTime: 100 });
    const realFetch = globalThis.fetch;
    globalThis.fetch = stubFetch;
    for (const name of order) bench.add(name, cases[name]);
    try {
      await bench.run();
    } finally {
      globalThis.fetch = realFetch;
    }
    for (const task of bench.tasks) {
      const latency = task.result.latency;
      samples[task.name].p50.push(latency.p50 * 1000);
      samples[task.name].p99.push(latency.p99 * 1000);
      samples[task.name].mean.push(latency.mean * 1000);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = {};
  for (const [name, s] of Object.entries(samples)) result[name] = { p50: median(s.p50), p99: median(s.p99), mean: median(s.mean) };
  return result;
}
