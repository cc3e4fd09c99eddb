// Streaming overhead, in one process, interleaved: time to first chunk through runStream vs a
// raw fetch of the same mock stream (p50 of N each), and chunks per second through runStream vs
// iterating the same JS async generator directly.
import { ReliableOrchestrator, openaiChat } from "reliable-orchestrator";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rawFirstChunk(url) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
    body: JSON.stringify({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hello there" }] }),
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let first;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    if (first === undefined && /"content":"[^"]/.test(buffered)) first = performance.now() - started;
  }
  return first;
}

async function oursFirstChunk(o) {
  const started = performance.now();
  let first;
  for await (const _ of o.runStream("hello there")) first ??= performance.now() - started;
  return first;
}

export async function streaming(mock, runs = 40) {
  const o = new ReliableOrchestrator({ tools: { gpt: openaiChat({ apiKey: "sk-bench", model: "gpt-4o-mini", baseUrl: `${mock.url}/v1` }) }, defaultTools: ["gpt"] });
  const raw = [];
  const ours = [];
  for (let i = 0; i < runs; i++) {
    raw.push(await rawFirstChunk(mock.url));
    ours.push(await oursFirstChunk(o));
  }
  const CHUNKS = 20_000;
  async function* source() {
    for (let i = 0; i < CHUNKS; i++) yield { text: "x" };
  }
  const local = new ReliableOrchestrator({ tools: { t: { execute: async () => ({ output: "" }), stream: () => source() } }, defaultTools: ["t"] });
  const rates = { raw: [], ours: [] };
  for (let round = 0; round < 3; round++) {
    let started = performance.now();
    let n = 0;
    for await (const _ of source()) n++;
    rates.raw.push(n / ((performance.now() - started) / 1000));
    started = performance.now();
    n = 0;
    for await (const _ of local.runStream("q")) n++;
    rates.ours.push(n / ((performance.now() - started) / 1000));
  }
  return { ttft: { raw: median(raw), ours: median(ours) }, chunksPerSecond: { raw: median(rates.raw), ours: median(rates.ours) } };
}
