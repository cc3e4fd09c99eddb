// Scenarios against the mock provider over real fetch: ours vs cockatiel configured as a careful
// user would (retry with exponential backoff, a circuit breaker, fallback to the second
// provider). Per scenario: success rate, calls made, wasted calls (a retry sent before the
// Retry-After the provider gave that same run), p50/p99 latency.
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, timeout, TimeoutStrategy, wrap } from "cockatiel";
import { ReliableOrchestrator, openaiChat, anthropicMessages, bundle } from "reliable-orchestrator";
import { summary, sleep } from "./lib.mjs";

class HttpError extends Error {
  constructor(status, retryAfter) {
    super(`HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** A careful cockatiel user: fetch, retry 5xx/429/network with backoff, a breaker per provider, fallback. */
function cockatielClient(base) {
  const call = (format, model, query, signal, requestId) =>
    fetch(`${base}/v1/${format === "openai" ? "chat/completions" : "messages"}`, {
      method: "POST",
      // Anthropic's API (and the mock, as faithfully) rejects a request without its version header.
      headers: { "content-type": "application/json", "x-request-id": requestId, ...(format === "anthropic" ? { "anthropic-version": "2023-06-01" } : {}) },
      body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: "user", content: query }] }),
      signal,
    }).then(async (r) => {
      if (!r.ok) throw new HttpError(r.status, r.headers.get("retry-after"));
      const body = await r.json();
      return format === "openai" ? body.choices[0].message.content : body.content[0].text;
    });
  const retryable = handleWhen((e) => e instanceof TypeError || (e instanceof HttpError && (e.status === 429 || e.status >= 500)) || e?.name === "TaskCancelledError");
  const pipeline = () =>
    wrap(
      retry(retryable, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }) }),
      circuitBreaker(retryable, { halfOpenAfter: 2_000, breaker: new ConsecutiveBreaker(3) }),
      timeout(400, TimeoutStrategy.Aggressive),
    );
  const primary = pipeline();
  const secondary = pipeline();
  return async (query, requestId) => {
    try {
      return await primary.execute(({ signal }) => call("openai", "gpt-4o-mini", query, signal, requestId));
    } catch {
      return await secondary.execute(({ signal }) => call("anthropic", "claude-3-5-haiku-latest", query, signal, requestId));
    }
  };
}

function oursClient(base) {
  const o = new ReliableOrchestrator({
    tools: {
      gpt: openaiChat({ model: "gpt-4o-mini", baseUrl: `${base}/v1`, maxTokens: 64 }),
      claude: anthropicMessages({ model: "claude-3-5-haiku-latest", baseUrl: `${base}/v1`, maxTokens: 64 }),
    },
    defaultTools: ["gpt", "claude"],
    reliability: {
      retryPolicy: { maxAttempts: 3, initialDelay: 0.2, maxDelay: 5, backoffFactor: 2 },
      circuitBreakers: { default: { failureThreshold: 3, timeout: 2 } },
      attemptTimeoutMs: 400,
    },
  });
  return (query, requestId) => o.run(query, { requestId, timeoutMs: 10_000 }).then((r) => r.output);
}

/** Retries a run sent before the Retry-After its provider gave that same run. */
function wasted(log) {
  let count = 0;
  const until = new Map();
  for (const entry of log) {
    const run = `${entry.headers["x-request-id"]}|${entry.format}`;
    if (until.has(run) && entry.at < until.get(run) - 5) count += 1;
    if (entry.status === 429) {
      const seconds = Number(entry.retryAfter ?? NaN);
      if (Number.isFinite(seconds)) until.set(run, entry.at + seconds * 1000);
    }
  }
  return count;
}

async function drive(mock, client, { runs, spacingMs, setup }) {
  mock.reset();
  setup?.(mock);
  const latencies = [];
  let ok = 0;
  const pending = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    pending.push(
      client(`question ${i}`, `run-${i}`).then(
        () => { ok += 1; latencies.push(performance.now() - started); },
        () => latencies.push(performance.now() - started),
      ),
    );
    if (spacingMs) await sleep(spacingMs);
  }
  await Promise.all(pending);
  const log = mock.log();
  const s = summary(latencies);
  return { success: ok / runs, calls: log.length, wasted: wasted(log), p50: s.p50, p99: s.p99 };
}

export async function scenarios(mock) {
  const storm = (m) => m.fault({ kind: "rate_limit", format: "openai", retryAfter: 1, durationMs: 1_000 });
  const outage = (m) => m.fault({ kind: "server", status: 503, format: "openai", durationMs: 3_000 });
  const slow = (m) => m.fault({ kind: "slow", format: "openai", delayMs: 3_000, durationMs: 60_000 });
  const results = {};
  for (const [name, plan] of [
    ["rate-limit storm (429 + Retry-After: 1 for 1 s), 10 runs", { runs: 10, spacingMs: 0, setup: storm }],
    ["outage (503 for 3 s, then recovery), 40 runs over 4 s", { runs: 40, spacingMs: 100, setup: outage }],
    ["slow provider (3 s) with a 400 ms attempt timeout, 10 runs", { runs: 10, spacingMs: 50, setup: slow }],
  ]) {
    // Fresh clients per scenario so breakers start closed.
    results[name] = {
      ours: await drive(mock, oursClient(mock.url), plan),
      cockatiel: await drive(mock, cockatielClient(mock.url), plan),
    };
    await sleep(100);
  }

  // Bundle k = 5 of agreeing replicates: ours stops early; the careful alternative asks 5 times and votes.
  mock.reset();
  const o = new ReliableOrchestrator({
    tools: { panel: bundle({ tool: openaiChat({ model: "gpt-4o", baseUrl: `${mock.url}/v1` }), k: 5, epsilon: 0.1 }) },
    defaultTools: ["panel"],
  });
  const bundleRuns = 10;
  const lat = [];
  for (let i = 0; i < bundleRuns; i++) {
    const t = performance.now();
    await o.run(`bundle question ${i}`);
    lat.push(performance.now() - t);
  }
  const oursCalls = mock.log().length;
  mock.reset();
  const vote = cockatielClient(mock.url);
  const latV = [];
  for (let i = 0; i < bundleRuns; i++) {
    const t = performance.now();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, j) => vote(`bundle question ${i}`, `b-${i}-${j}`)));
    void answers;
    latV.push(performance.now() - t);
  }
  const votedCalls = mock.log().length;
  results[`bundle k = 5, replicates agree, ${bundleRuns} runs`] = {
    ours: { success: 1, calls: oursCalls, wasted: 0, ...pick(summary(lat)) },
    cockatiel: { success: 1, calls: votedCalls, wasted: 0, ...pick(summary(latV)) },
    saved: 1 - oursCalls / votedCalls,
  };
  return results;
}

const pick = ({ p50, p99 }) => ({ p50, p99 });
