// One command, one table: `make bench` (or `npm run bench` here after `make pkg`). Prints the
// table and writes it to bench/RESULTS.md with the machine it ran on.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { startMockProvider } from "../mock-provider/server.mjs";
import { overhead } from "./overhead.mjs";
import { scenarios } from "./scenarios.mjs";
import { workerd } from "./workerd.mjs";
import { streaming } from "./stream.mjs";
import * as footprint from "./footprint.mjs";
import { fmt, table } from "./lib.mjs";

const say = (s) => process.stderr.write(`${s}\n`);
const mark = (ok) => (ok ? "met" : "**missed**");

say("overhead per run() ...");
const o = await overhead();
const ours = o["(c) ours, same policy"];
const cock = o["(b) cockatiel retry + breaker"];
const raw = o["(a) raw call"];
say("scenarios against the mock provider ...");
const mock = await startMockProvider({ idleMs: 600_000 });
const sc = await scenarios(mock);
say("streaming ...");
const st = await streaming(mock);
say("workerd ...");
const wd = await workerd(mock.url, Number(process.env.BENCH_WORKERD_REQUESTS ?? 1000));
await mock.close();
say("footprint and scaling ...");
const size = footprint.size();
const inst = footprint.instantiate();
const timers = await footprint.timerAccuracy();
const memory = await footprint.memoryAfterRuns();
const native = footprint.nativePlanning();
const wasmPlan = await footprint.wasmPlanning();

const out = [];
out.push(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`);
out.push("");
out.push("**Overhead per run()** over a no-op async tool (tinybench, interleaved rounds, median of rounds; µs):");
out.push("");
out.push(table(["case", "p50 µs", "p99 µs", "vs raw", "vs cockatiel", "vs (c)"],
  Object.entries(o).map(([name, r]) => [name, fmt(r.p50), fmt(r.p99), `${fmt(r.p50 / raw.p50, 1)}×`, `${fmt(r.p50 / cock.p50, 1)}×`, `${fmt(r.p50 / ours.p50, 1)}×`])));
out.push("");
out.push("**Scenarios** against the mock provider over real fetch (ours vs cockatiel retry + breaker + fallback):");
out.push("");
const rows = [];
for (const [name, r] of Object.entries(sc)) {
  for (const who of ["ours", "cockatiel"]) {
    const x = r[who];
    rows.push([who === "ours" ? name : "", who, `${fmt(100 * x.success, 0)}%`, String(x.calls), String(x.wasted), fmt(x.p50, 0), fmt(x.p99, 0)]);
  }
  if (r.saved !== undefined) rows.push(["", "calls saved by early stop", `${fmt(100 * r.saved, 0)}%`, "", "", "", ""]);
}
out.push(table(["scenario", "client", "success", "calls", "wasted", "p50 ms", "p99 ms"], rows));
out.push("");
out.push("**Streaming** (runStream vs the same stream read directly, one process):");
out.push("");
out.push(table(["measure", "raw", "runStream", "ratio / overhead", "target"], [
  ["time to first chunk, p50 (mock over real fetch)", `${fmt(st.ttft.raw, 2)} ms`, `${fmt(st.ttft.ours, 2)} ms`, `+${fmt(st.ttft.ours - st.ttft.raw, 2)} ms`, `≤ 1 ms: ${mark(st.ttft.ours - st.ttft.raw <= 1)}`],
  ["chunks per second (a JS async generator, 20,000 chunks)", fmt(st.chunksPerSecond.raw, 0), fmt(st.chunksPerSecond.ours, 0), `${fmt(st.chunksPerSecond.ours / st.chunksPerSecond.raw, 2)}×`, `≥ 0.8×: ${mark(st.chunksPerSecond.ours >= 0.8 * st.chunksPerSecond.raw)}`],
]));
out.push("");
out.push("**Footprint and scaling:**");
out.push("");
const planRows = [10, 100, 1000, 10000].map((n) => [`plan ${n} rules`, `${fmt(native[n], 1)} µs native, ${fmt(wasmPlan[n], 0)} µs through wasm`, n === 1000 ? `≤ 50 µs: native ${mark(native[n] <= 50)}, wasm ${mark(wasmPlan[n] <= 50)}` : ""]);
out.push(table(["measure", "value", "target"], [
  ["plain run() (c) vs cockatiel (b)", `${fmt(ours.p50)} µs vs ${fmt(cock.p50)} µs = ${fmt(ours.p50 / cock.p50, 1)}× (before the run machine: 38×)`, `≤ 1.0×: ${mark(ours.p50 <= cock.p50)}`],
  ["10 rules (d) vs cockatiel (b)", `${fmt(o["(d) ours, 10 rules"].p50 / cock.p50, 1)}× (before: 42×)`, `≤ 1.3×: ${mark(o["(d) ours, 10 rules"].p50 <= 1.3 * cock.p50)}`],
  ["keyed miss / hit vs plain run() (c)", `${fmt(o["(e) ours, idempotency miss"].p50 / ours.p50, 1)}× / ${fmt(o["(e) ours, idempotency hit"].p50 / ours.p50, 1)}× (before: 2.6× / 1.3× of 21.7 µs)`, `≤ 3× / ≤ 2×: ${mark(o["(e) ours, idempotency miss"].p50 <= 3 * ours.p50 && o["(e) ours, idempotency hit"].p50 <= 2 * ours.p50)}`],
  ["built-in tool call (f), library overhead over its fetch", `${fmt(o["(f) ours, built-in openaiChat, stub fetch"].p50 - o["(f) raw fetch + JSON, stub fetch"].p50, 1)} µs (${fmt(o["(f) ours, built-in openaiChat, stub fetch"].p50 / o["(f) raw fetch + JSON, stub fetch"].p50, 1)}× the stub fetch; 89 µs on the Rust driver)`, ""],
  ["wasted calls in the rate-limit storm", String(Object.values(sc)[0].ours.wasted), `0: ${mark(Object.values(sc)[0].ours.wasted === 0)}`],
  ["outage: success / calls, ours vs cockatiel", `${fmt(100 * Object.values(sc)[1].ours.success, 0)}% / ${Object.values(sc)[1].ours.calls} vs ${fmt(100 * Object.values(sc)[1].cockatiel.success, 0)}% / ${Object.values(sc)[1].cockatiel.calls}`, `≥ success, fewer calls: ${mark(Object.values(sc)[1].ours.success >= Object.values(sc)[1].cockatiel.success && Object.values(sc)[1].ours.calls < Object.values(sc)[1].cockatiel.calls)}`],
  ["bundle early stop, calls saved", `${fmt(100 * Object.values(sc)[3].saved, 0)}%`, `≥ 40%: ${mark(Object.values(sc)[3].saved >= 0.4)}`],
  ["workerd requests/s, example Worker vs plain JS", `${fmt(wd.ratio, 2)}×: median of 9 alternating rounds' ratios (medians ${fmt(wd.ours, 0)} vs ${fmt(wd.plain, 0)} req/s; before: 0.70×)`, `≥ 0.9×: ${mark(wd.ratio >= 0.9)}`],
  ...planRows,
  ["wasm size", `${fmt(size.rawKb, 0)} KB raw, ${fmt(size.gzipKb, 0)} KB gzip (before: 250 KB gzip)`, `≤ 150 KB gzip: ${mark(size.gzipKb <= 150)}`],
  ["instantiate (compile + init, fresh process)", `${fmt(inst, 1)} ms`, `≤ 10 ms: ${mark(inst <= 10)}`],
  ["retry timer error (scheduled vs observed)", `p50 ${fmt(timers.p50, 2)} ms, max ${fmt(timers.max, 2)} ms over ${timers.n} waits`, `≤ 5 ms: ${mark(timers.max <= 5)}`],
  ["memory after 1,000,000 runs", `heap ${fmt(memory.heapMb, 1)} MB (+${fmt(memory.heapGrowthMb, 1)} MB), wasm ${fmt(memory.wasmMb, 1)} MB (+${fmt(memory.wasmGrowthMb, 1)} MB), rss ${fmt(memory.rssMb, 0)} MB`, `flat (+≤ 1 MB): ${mark(memory.heapGrowthMb <= 1 && memory.wasmGrowthMb <= 1)}`],
]));
const text = out.join("\n");
console.log(text);
writeFileSync(new URL("./RESULTS.md", import.meta.url), `# Benchmark results\n\nProduced by \`make bench\`.\n\n${text}\n`);
