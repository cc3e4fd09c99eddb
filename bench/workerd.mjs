// workerd: requests per second of the example Worker (plan + retries + breakers + trace headers
// around one provider call) against a plain-JS Worker doing the same fetch, both in Miniflare
// on this machine against the mock provider, a bounded number of requests, 8 at a time.
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

const dist = fileURLToPath(new URL("../worker-example/dist/", import.meta.url));

const plainWorker = `
export default {
  async fetch(request, env) {
    const { request: input } = await request.json();
    const r = await fetch(env.PROVIDER_BASE_URL + "/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 256, messages: [{ role: "user", content: String(input) }] }),
    });
    if (!r.ok) return Response.json({ error: r.status }, { status: 502 });
    const body = await r.json();
    return Response.json({ output: body.choices[0].message.content, usage: body.usage });
  },
};`;

async function throughput(mf, total, concurrency) {
  const send = (i) => mf.dispatchFetch("http://w/run", { method: "POST", body: JSON.stringify({ request: `q${i}` }) }).then((r) => r.text());
  for (let i = 0; i < 50; i++) await send(i);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await send(next++);
  }));
  return total / ((performance.now() - started) / 1000);
}

export async function workerd(mockUrl, total = 1_000) {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: fileURLToPath(new URL("../worker-example/", import.meta.url)) });
  const bindings = { PROVIDER_BASE_URL: `${mockUrl}/v1` };
  const ours = new Miniflare({
    modules: true, scriptPath: `${dist}worker.js`, modulesRoot: dist,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-09-01", kvNamespaces: ["IDEMPOTENCY_KV"],
    durableObjects: { IDEMPOTENCY_DO: "IdempotencyDurableObject" }, bindings,
  });
  const plain = new Miniflare({ modules: true, script: plainWorker, compatibilityDate: "2025-09-01", bindings });
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    rounds.push({ ours: await throughput(ours, total, 8), plain: await throughput(plain, total, 8) });
  }
  await ours.dispose();
  await plain.dispose();
  const median = (xs) => [...xs].sort((a, b) => a - b)[1];
  return { ours: median(rounds.map((r) => r.ours)), plain: median(rounds.map((r) => r.plain)) };
}
