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

const sender = (mf) => (i) => mf.dispatchFetch("http://w/run", { method: "POST", body: JSON.stringify({ request: `q${i}` }) }).then((r) => r.text());

async function warm(mf) {
  const send = sender(mf);
  for (let i = 0; i < 100; i++) await send(i);
}

async function throughput(mf, total, concurrency) {
  const send = sender(mf);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await send(next++);
  }));
  return total / ((performance.now() - started) / 1000);
}

/** `total` requests split over each of 9 rounds per Worker (a quarter of it per round). */
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
  // Many short rounds, alternating which Worker goes first, and the median of each round's
  // ratio: the VM's drift over a long round moved the ratio more than the Workers differ.
  await warm(ours);
  await warm(plain);
  const rounds = [];
  const per = Math.max(50, Math.round(total / 4));
  for (let round = 0; round < 9; round++) {
    const ourFirst = round % 2 === 0;
    const a = await throughput(ourFirst ? ours : plain, per, 8);
    const b = await throughput(ourFirst ? plain : ours, per, 8);
    rounds.push(ourFirst ? { ours: a, plain: b } : { ours: b, plain: a });
  }
  await ours.dispose();
  await plain.dispose();
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return {
    ours: median(rounds.map((r) => r.ours)),
    plain: median(rounds.map((r) => r.plain)),
    ratio: median(rounds.map((r) => r.ours / r.plain)),
  };
}
