// The main demo: the mock LLM provider and this Worker running locally in workerd, driven
// through a short scripted scenario. Prints what the orchestrator did as a timeline: the tool
// chosen, attempts and delays, breaker transitions, cache hits, conflicts and budget stops.
// Ends by itself. Run with `make demo` from the repository root.
import { startMockProvider, startWorker } from "./test/harness.mjs";

const mock = await startMockProvider({ idleMs: 60_000 });
const worker = await startWorker(mock.url, { BREAKER_TIMEOUT_S: "3" });
const t0 = Date.now();
const clock = (at) => `[${((at - t0) / 1000).toFixed(3).padStart(7)}s]`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function describe(e) {
  switch (e.type) {
    case "plan":
      return `plan        -> ${e.toolName} (rule: ${e.rule ?? "default"})${e.fallbacks.length ? `, fallbacks: ${e.fallbacks.join(", ")}` : ""}${e.skipped.length ? `, skipped (circuit open): ${e.skipped.join(", ")}` : ""}`;
    case "attempt":
      return `attempt     ${e.toolName} #${e.attempt}`;
    case "retry":
      return `retry       ${e.toolName} #${e.attempt} failed (${e.reason}); waiting ${(e.delayMs / 1000).toFixed(2)}s`;
    case "fallback":
      return `fallback    ${e.from} -> ${e.to} (${e.reason})`;
    case "breaker":
      return `breaker     ${e.provider}: ${e.from ?? "-"} -> ${e.to ?? "-"}${e.reason ? ` (${e.reason})` : ""}`;
    case "idempotency":
      return `idempotency ${e.outcome} (key ${e.key})`;
    case "budget":
      return `budget      ${e.budgetType} stop: limit ${e.limit}, spent ${e.spent}${e.requested === undefined ? "" : `, the call would need ${e.requested}`}`;
    default:
      return `${e.type.padEnd(11)} ${JSON.stringify(e)}`;
  }
}

async function step(title, request, options = {}, { fault, headers } = {}) {
  console.log(`\n== ${title}`);
  if (fault) {
    mock.fault(fault);
    console.log(`  (mock provider: ${fault.kind}${fault.status ? ` ${fault.status}` : ""}${fault.retryAfter ? `, Retry-After: ${fault.retryAfter}` : ""}${fault.durationMs ? ` for ${fault.durationMs / 1000}s` : ""}${fault.format ? ` on ${fault.format}` : ""})`);
  }
  const before = mock.log().length;
  const r = await worker.run(request, options, { "x-include-events": "1", ...headers });
  for (const e of r.body.events ?? []) console.log(`  ${clock(e.at)} ${describe(e)}`);
  const calls = mock.log().length - before;
  if (r.status === 200) {
    const b = r.body;
    const output = typeof b.output === "string" ? b.output : `bundle: "${b.output.consensus}", agreement ${b.output.agreement}, ${b.output.replicates.length} replicate(s)`;
    console.log(`  => ${r.status} "${output}" from ${b.toolName} after ${b.attempts} call(s)${b.cached ? " [cached replay]" : ""}, ${b.usage.totalTokens} tokens, $${(b.costUsd ?? 0).toFixed(6)}; provider saw ${calls} request(s)`);
  } else {
    const e = r.body.error;
    const detail = ["category", "budgetType", "limit", "spent", "reason", "field"].filter((k) => e[k] !== undefined).map((k) => `${k} ${e[k]}`).join(", ");
    console.log(`  => ${r.status} ${e.code}${detail ? ` (${detail})` : ""}; provider saw ${calls} request(s)`);
  }
  return r;
}

try {
  console.log(`mock provider on ${mock.url}; worker in workerd (Miniflare) with KV and Durable Object bindings`);
  await step("1. A plain request: the default tool answers", "What is a circuit breaker?");
  await step("2. Rate limited: a 429 with Retry-After: 1 is waited out exactly", "Summarise the news",
    {}, { fault: { kind: "rate_limit", format: "openai", retryAfter: 1 } });
  await step("3. The seed's rules: a keyword rule", { query: "A deep analysis of market trends" });
  await step("4. A custom rule on metadata.quality: a bundle of 3 that stops early when replicates agree",
    { type: "analysis", query: "Market trends", metadata: { quality: "high" } });
  await step("5. Outage: openai answers 503, its breaker opens, anthropic takes over", "Is the service up?",
    {}, { fault: { kind: "server", status: 503, format: "openai", durationMs: 2_500 } });
  await step("6. The next request skips the open breaker without calling openai", "Still there?");
  await step("7. Idempotent: first run with a key", { query: "Quarterly report" }, { idempotencyKey: "report-q3" });
  await step("8. Same key, same request: replayed, nothing executed", { query: "Quarterly report" }, { idempotencyKey: "report-q3" });
  await step("9. Same key, another request: conflict", { query: "Another report" }, { idempotencyKey: "report-q3" });

  console.log("\n== 10. Five concurrent duplicates with one key (slow provider): one execution");
  mock.fault({ kind: "slow", delayMs: 300 });
  const before = mock.log().length;
  const dupes = await Promise.all(Array.from({ length: 5 }, () => worker.run("Once only", { idempotencyKey: "once" })));
  console.log(`  => statuses ${dupes.map((d) => d.status).join(", ")}; executed ${dupes.filter((d) => !d.body.cached).length}, shared ${dupes.filter((d) => d.body.cached).length}; provider saw ${mock.log().length - before} request(s)`);

  await step("11. Budget: 10 tokens cannot fit the prompt and an answer; nothing is sent", "Write an essay", { budget: { tokens: 10 } });
  console.log("\n  (waiting 3 s for the openai breaker's timeout)");
  await sleep(3_100);
  await step("12. Recovery: the breaker half-opens, the probe succeeds, it closes", "Back again?");
  const health = await worker.raw("/health");
  console.log(`\nGET /health: ${Object.entries(health.body.breakers).map(([p, s]) => `${p} ${s.state}`).join(", ")}`);
} finally {
  await worker.close();
  await mock.close();
}
