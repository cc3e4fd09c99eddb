// The page's orchestrator: built-in provider tools against the mock provider, IndexedDB for
// idempotency, every event rendered as a timeline.
import { ReliableOrchestrator, openaiChat, anthropicMessages, indexedDbStore } from "/pkg/browser.js";

const { mockUrl } = await (await fetch("/config.json")).json();
const $ = (id) => document.getElementById(id);
const runs = new Map();

const describe = (e) => ({
  plan: () => `plan → ${e.toolName}${e.skipped.length ? `, skipped (circuit open): ${e.skipped.join(", ")}` : ""}`,
  attempt: () => `attempt ${e.toolName} #${e.attempt}`,
  retry: () => `retry ${e.toolName} after ${e.reason}: waiting ${(e.delayMs / 1000).toFixed(2)} s`,
  fallback: () => `fallback ${e.from} → ${e.to} (${e.reason})`,
  breaker: () => `breaker ${e.provider}: ${e.from ?? "–"} → ${e.to ?? "–"}`,
  idempotency: () => (e.outcome === "hit" || e.outcome === "joined" ? `cached replay (key ${e.key})` : `idempotency ${e.outcome} (key ${e.key})`),
  budget: () => `budget stop: ${e.budgetType}`,
  first_chunk: () => `first chunk from ${e.toolName} after ${e.ttftMs.toFixed(0)} ms`,
  stream_end: () => `stream complete: ${e.chunks} chunk(s)`,
  stream_interrupted: () => `stream interrupted (${e.reason})`,
})[e.type]?.() ?? e.type;

function render() {
  const items = [...runs.values()].reverse().map((run) => {
    const li = document.createElement("li");
    const head = document.createElement("strong");
    head.textContent = run.result ?? "running…";
    li.append(head);
    if (run.cached) li.append(Object.assign(document.createElement("span"), { className: "cached", textContent: " · cached replay" }));
    const steps = document.createElement("ul");
    for (const e of run.events) steps.append(Object.assign(document.createElement("li"), { textContent: describe(e) }));
    li.append(steps);
    return li;
  });
  $("timeline").replaceChildren(...items);
  const states = Object.entries(orchestrator.circuitStates()).map(([p, s]) => {
    const span = Object.assign(document.createElement("span"), { className: `state ${s.state}`, textContent: `${p}: ${s.state.replace("_", "-")}` });
    span.dataset.provider = p;
    return span;
  });
  $("breakers").replaceChildren(...(states.length ? states.flatMap((s) => [s, " "]) : ["none yet"]));
}

const orchestrator = new ReliableOrchestrator({
  tools: {
    gpt: openaiChat({ model: "gpt-4o-mini", baseUrl: `${mockUrl}/v1`, maxTokens: 128 }),
    claude: anthropicMessages({ model: "claude-3-5-haiku-latest", baseUrl: `${mockUrl}/v1`, maxTokens: 128 }),
  },
  defaultTools: ["gpt", "claude"],
  reliability: {
    retryPolicy: { maxAttempts: 2, initialDelay: 0.2, maxDelay: 2 },
    circuitBreakers: { openai: { failureThreshold: 2, timeout: 3 } },
    idempotencyEnabled: true,
  },
  store: indexedDbStore("reliable-orchestrator-example"),
  onEvent: (e) => {
    if (!e.requestId) return;
    const run = runs.get(e.requestId) ?? { events: [] };
    run.events.push(e);
    if (e.type === "idempotency" && (e.outcome === "hit" || e.outcome === "joined")) run.cached = true;
    runs.set(e.requestId, run);
    render();
  },
});

async function ask(options = {}) {
  const requestId = crypto.randomUUID();
  runs.set(requestId, { events: [] });
  try {
    const r = await orchestrator.run({ query: $("query").value }, { ...options, requestId });
    runs.get(requestId).result = `“${r.output}” from ${r.toolName} after ${r.attempts} call(s)${r.cached ? " (cached)" : ""}`;
    $("status").textContent = `answered by ${r.toolName}${r.cached ? ", cached" : ""}`;
  } catch (e) {
    runs.get(requestId).result = `${e.name}: ${e.code}`;
    $("status").textContent = `failed: ${e.code}`;
  }
  render();
}

// Tokens as they arrive; an interruption after the first chunk is reported, never hidden.
async function stream() {
  const requestId = crypto.randomUUID();
  runs.set(requestId, { events: [] });
  $("streamed").textContent = "";
  const s = orchestrator.runStream({ query: $("query").value }, { requestId, idleTimeoutMs: 2_000 });
  try {
    for await (const chunk of s) $("streamed").textContent += chunk.text;
    const r = await s.result;
    runs.get(requestId).result = `streamed “${r.output}” from ${r.toolName}`;
    $("status").textContent = `streamed by ${r.toolName}`;
  } catch (e) {
    runs.get(requestId).result = `${e.name}: ${e.code}${e.reason ? ` (${e.reason})` : ""}`;
    $("status").textContent = `stream interrupted: ${e.reason ?? e.code}, kept “${e.partial ?? ""}”`;
  }
  render();
}

$("stream").addEventListener("click", () => stream());
$("stream-cut").addEventListener("click", async () => {
  await fetch(`${mockUrl}/__mock/faults`, { method: "POST", body: JSON.stringify({ kind: "cut", afterChunks: 2, format: "openai", chunkDelayMs: 40 }) });
  await stream();
});
$("send").addEventListener("click", () => ask());
$("send-keyed").addEventListener("click", () => ask({ idempotencyKey: "browser-demo" }));
$("fault-5xx").addEventListener("click", async () => {
  await fetch(`${mockUrl}/__mock/faults`, { method: "POST", body: JSON.stringify({ kind: "server", status: 503, format: "openai", durationMs: 5000 }) });
  $("status").textContent = "injected: 5xx burst for 5 s";
});
$("status").textContent = "ready";
render();
