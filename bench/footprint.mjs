// Footprint: release wasm size (raw, gzip), instantiate time in a fresh Node process, timer
// accuracy of retry delays (scheduled vs observed), memory after 1,000,000 runs (JS heap and
// wasm memory), and plan time through wasm for 10 to 10,000 rules.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ReliableOrchestrator, RuleBasedPlanner, rules } from "reliable-orchestrator";
import { initSync } from "../pkg/generated/reliable_orchestrator.js";
import { summary } from "./lib.mjs";

const wasmPath = fileURLToPath(new URL("../pkg/generated/reliable_orchestrator_bg.wasm", import.meta.url));
const gluePath = fileURLToPath(new URL("../pkg/generated/reliable_orchestrator.js", import.meta.url));

export function size() {
  const bytes = readFileSync(wasmPath);
  return { rawKb: bytes.length / 1024, gzipKb: gzipSync(bytes, { level: 9 }).length / 1024 };
}

/** Compile + instantiate in fresh processes (median of 5): what a cold start pays. */
export function instantiate() {
  const script = `
    import { readFileSync } from "node:fs";
    import { initSync } from ${JSON.stringify(gluePath)};
    const bytes = readFileSync(${JSON.stringify(wasmPath)});
    const t = performance.now();
    initSync({ module: new WebAssembly.Module(bytes) });
    console.log(performance.now() - t);`;
  const samples = Array.from({ length: 5 }, () =>
    Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim()));
  return summary(samples).p50;
}

/** Retry delays as scheduled (retry events) against the gap observed between the calls. */
export async function timerAccuracy() {
  const calls = [];
  const delays = [];
  const o = new ReliableOrchestrator({
    tools: { t: { execute: async () => { calls.push(performance.now()); if (calls.length % 6 !== 0) throw Object.assign(new Error("busy"), { status: 503 }); return { output: "ok" }; } } },
    defaultTools: ["t"],
    reliability: { retryPolicy: { maxAttempts: 6, initialDelay: 0.01, maxDelay: 0.2, backoffFactor: 2, jitter: 0 }, circuitBreakers: { default: { failureThreshold: 1000 } } },
    onEvent: (e) => { if (e.type === "retry") delays.push(e.delayMs); },
  });
  const errors = [];
  for (let run = 0; run < 5; run++) {
    const start = calls.length;
    const before = delays.length;
    await o.run("q");
    for (let i = 0; i < delays.length - before; i++) {
      const observed = calls[start + i + 1] - calls[start + i];
      errors.push(Math.abs(observed - delays[before + i]));
    }
  }
  const s = summary(errors);
  return { p50: s.p50, max: Math.max(...errors), n: errors.length };
}

/** Heap and RSS after 100,000 runs (in batches of 1,000), after a full collection. */
export async function memoryAfterRuns() {
  const o = new ReliableOrchestrator({ tools: { t: { execute: async (r) => ({ output: r }) } }, defaultTools: ["t"] });
  const gc = async () => { for (let i = 0; i < 3; i++) { globalThis.gc?.(); await new Promise((r) => setTimeout(r, 10)); } };
  await gc();
  // The package has loaded the module already: initSync answers its exports, memory included.
  const wasmMemory = () => initSync({ module: new Uint8Array() }).memory.buffer.byteLength;
  const batches = async (n) => {
    for (let batch = 0; batch < n; batch++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => o.run({ query: `q${i}` })));
    }
  };
  await batches(20); // warm-up: the run table and the allocator reach their working size
  await gc();
  const before = process.memoryUsage();
  const wasmBefore = wasmMemory();
  await batches(1000);
  await gc();
  const after = process.memoryUsage();
  const mb = (bytes) => bytes / 2 ** 20;
  return {
    runs: 1_000_000,
    heapMb: mb(after.heapUsed),
    heapGrowthMb: mb(after.heapUsed - before.heapUsed),
    wasmMb: mb(wasmMemory()),
    wasmGrowthMb: mb(wasmMemory() - wasmBefore),
    rssMb: mb(after.rss),
  };
}

/** Plan time through wasm: the dry-run `plan()` over n non-matching keyword rules. */
export async function wasmPlanning() {
  const tool = { execute: async (r) => ({ output: r }) };
  // Timed directly through the dry-run `plan()`: a difference of two run() times was noise.
  const out = {};
  for (const n of [10, 100, 1_000, 10_000]) {
    const planner = new RuleBasedPlanner(Array.from({ length: n }, (_, i) => rules.keyword({ keywords: [`never-${i}`], attribute: "query", toolName: "t", priority: i % 7 })));
    const o = new ReliableOrchestrator({ planner, tools: { t: tool }, defaultTools: ["t"] });
    const request = { query: "Analyze the market trends in depth" };
    for (let i = 0; i < 50; i++) o.plan(request);
    const samples = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      o.plan(request);
      samples.push((performance.now() - t) * 1000);
    }
    out[n] = summary(samples).p50;
  }
  return out;
}

/** Native plan time (release build of examples/bench_planning.rs). */
export function nativePlanning() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const out = execFileSync("cargo", ["run", "--quiet", "--release", "--example", "bench_planning"], { cwd: root, encoding: "utf8" });
  return Object.fromEntries(out.trim().split("\n").map((l) => JSON.parse(l)).map(({ rules: n, us }) => [n, us]));
}
