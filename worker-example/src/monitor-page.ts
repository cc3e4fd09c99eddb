// The monitor page served at GET /: breaker states, a live timeline of recent runs, and
// buttons that send requests and inject faults into the local mock provider. Plain HTML and a
// small script, no framework, nothing loaded from elsewhere.
export const MONITOR_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reliable-orchestrator monitor</title>
<style>
  :root { color-scheme: light; font-family: system-ui, sans-serif; color: #1b1b1b; background: #fafafa; }
  body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ccc; }
  .state { font-weight: 700; padding: .1rem .5rem; border-radius: .3rem; }
  .closed { background: #d7f5dd; color: #0b4d1c; }
  .open { background: #fbd5d5; color: #7a0c0c; }
  .half_open { background: #fff0c2; color: #5c4300; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem; }
  button { font: inherit; padding: .45rem .8rem; border: 1px solid #333; border-radius: .3rem; background: #fff; color: #1b1b1b; cursor: pointer; }
  button:focus-visible { outline: 3px solid #0a58ca; outline-offset: 2px; }
  fieldset { border: 1px solid #bbb; border-radius: .3rem; }
  ol { padding-left: 1.2rem; background: #fff; border: 1px solid #ccc; max-height: 28rem; overflow: auto; }
  li { margin: .3rem 0; }
  .run { font-weight: 600; }
  .cached { color: #0b4d1c; font-weight: 700; }
  .bad { color: #7a0c0c; font-weight: 700; }
  code { font-size: .9em; }
</style>
</head>
<body>
<h1>reliable-orchestrator monitor</h1>
<p>Breakers and recent runs of this Worker's orchestrator, refreshed every half second.</p>
<div class="controls">
  <fieldset><legend>Traffic</legend>
    <button id="send" type="button">Send a request</button>
    <button id="send-keyed" type="button">Send the keyed request (key <code>monitor-demo</code>)</button>
  </fieldset>
  <fieldset><legend>Inject faults into the mock provider (openai)</legend>
    <button id="fault-429" type="button">429 with Retry-After: 1</button>
    <button id="fault-5xx" type="button">5xx burst (5 s)</button>
    <button id="fault-slow" type="button">Slow responses (5 s)</button>
  </fieldset>
</div>
<p id="status" role="status" aria-live="polite"></p>
<h2 id="breakers-title">Circuit breakers</h2>
<table aria-labelledby="breakers-title">
  <thead><tr><th scope="col">Provider</th><th scope="col">State</th><th scope="col">Failures in window</th><th scope="col">Half-open in</th></tr></thead>
  <tbody id="breakers"><tr><td colspan="4">loading…</td></tr></tbody>
</table>
<h2 id="timeline-title">Recent runs</h2>
<ol id="timeline" aria-labelledby="timeline-title" aria-live="polite"></ol>
<script type="module">
const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };
let seq = 0;
let keyedCount = 0;
const runs = new Map();

function describe(e) {
  switch (e.type) {
    case "plan": return "plan → " + e.toolName + (e.rule ? " (rule " + e.rule + ")" : " (default)") + (e.skipped.length ? ", skipped (circuit open): " + e.skipped.join(", ") : "");
    case "attempt": return "attempt " + e.toolName + " #" + e.attempt;
    case "retry": return "retry " + e.toolName + " after " + e.reason + ": waiting " + (e.delayMs / 1000).toFixed(2) + " s";
    case "fallback": return "fallback " + e.from + " → " + e.to + " (" + e.reason + ")";
    case "breaker": return "breaker " + e.provider + ": " + (e.from ?? "–") + " → " + (e.to ?? "–") + (e.reason ? " (" + e.reason + ")" : "");
    case "idempotency": return e.outcome === "hit" || e.outcome === "joined" ? "cached replay (" + e.outcome + ", key " + e.key + ")" : "idempotency " + e.outcome + " (key " + e.key + ")";
    case "budget": return "budget stop: " + e.budgetType + " limit " + e.limit;
    case "first_chunk": return "first chunk from " + e.toolName + " after " + Math.round(e.ttftMs) + " ms";
    case "stream_end": return "stream complete: " + e.chunks + " chunk(s) in " + Math.round(e.elapsedMs) + " ms";
    case "stream_interrupted": return "stream interrupted (" + e.reason + ")";
    default: return e.type;
  }
}

function render() {
  const list = $("timeline");
  list.replaceChildren();
  for (const [id, run] of [...runs].reverse().slice(0, 30)) {
    const li = document.createElement("li");
    const head = document.createElement("div");
    head.className = "run";
    head.textContent = new Date(run.at).toLocaleTimeString() + " · run " + id.slice(0, 8) + (run.result ? " · " + run.result : "");
    const cached = run.events.some((e) => e.type === "idempotency" && (e.outcome === "hit" || e.outcome === "joined"));
    if (cached) {
      const badge = document.createElement("span");
      badge.className = "cached";
      badge.textContent = " · cached replay";
      head.append(badge);
    }
    const steps = document.createElement("ul");
    for (const e of run.events) {
      const step = document.createElement("li");
      step.textContent = describe(e);
      if (e.type === "budget" || e.type === "stream_interrupted" || (e.type === "idempotency" && e.outcome === "conflict")) step.className = "bad";
      steps.append(step);
    }
    li.append(head, steps);
    list.append(li);
  }
}

async function poll() {
  try {
    const health = await (await fetch("/health")).json();
    const rows = Object.entries(health.breakers).map(([provider, b]) => {
      const tr = document.createElement("tr");
      const wait = b.halfOpenAt ? Math.max(0, (b.halfOpenAt - Date.now()) / 1000).toFixed(1) + " s" : "–";
      const cells = [provider, null, b.failures + " / " + b.failureThreshold, b.state === "open" ? wait : "–"];
      for (const value of cells) {
        const td = document.createElement("td");
        if (value === null) {
          const span = document.createElement("span");
          span.className = "state " + b.state;
          span.textContent = b.state.replace("_", "-");
          span.dataset.provider = provider;
          td.append(span);
        } else td.textContent = value;
        tr.append(td);
      }
      return tr;
    });
    $("breakers").replaceChildren(...(rows.length ? rows : [Object.assign(document.createElement("tr"), { textContent: "no provider called yet" })]));
    const events = await (await fetch("/events?since=" + seq)).json();
    for (const e of events) {
      seq = Math.max(seq, e.seq);
      if (!e.requestId) continue;
      const run = runs.get(e.requestId) ?? { at: e.at, events: [] };
      run.events.push(e);
      runs.set(e.requestId, run);
    }
    if (events.length) render();
  } catch (error) {
    status("refresh failed: " + error);
  }
}

async function send(options) {
  const r = await fetch("/run", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ request: { query: "How are the providers doing?" }, options }) });
  const body = await r.json();
  const id = r.headers.get("x-request-id");
  const summary = r.ok ? r.status + " from " + body.toolName + " after " + body.attempts + " call(s)" + (body.cached ? " (cached)" : "") : r.status + " " + body.error.code;
  if (id) { const run = runs.get(id) ?? { at: Date.now(), events: [] }; run.result = summary; runs.set(id, run); }
  status("last request: " + summary);
  await poll();
  render();
}

async function fault(spec, label) {
  const r = await fetch("/demo/fault", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) });
  status(r.ok ? "injected: " + label : "could not inject (" + r.status + ")");
}

$("send").addEventListener("click", () => send({}));
$("send-keyed").addEventListener("click", () => send({ idempotencyKey: "monitor-demo" }));
$("fault-429").addEventListener("click", () => fault({ kind: "rate_limit", format: "openai", retryAfter: 1 }, "429 with Retry-After: 1"));
$("fault-5xx").addEventListener("click", () => fault({ kind: "server", status: 503, format: "openai", durationMs: 5000 }, "5xx burst for 5 s"));
$("fault-slow").addEventListener("click", () => fault({ kind: "slow", format: "openai", delayMs: 3000, durationMs: 5000 }, "slow responses for 5 s"));
setInterval(poll, 500);
poll();
</script>
</body>
</html>`;
