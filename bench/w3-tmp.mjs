import { Miniflare } from "miniflare";
import { startMockProvider } from "/work/main/mock-provider/server.mjs";
const mock = await startMockProvider({ idleMs: 600_000 });
const bindings = { PROVIDER_BASE_URL: `${mock.url}/v1` };
const mkw = (dist) => new Miniflare({ modules: true, scriptPath: `${dist}worker.js`, modulesRoot: dist, modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }], compatibilityDate: "2025-09-01", kvNamespaces: ["IDEMPOTENCY_KV"], durableObjects: { IDEMPOTENCY_DO: "IdempotencyDurableObject" }, bindings });
const plainWorker = `export default { async fetch(request, env) { const { request: input } = await request.json(); const r = await fetch(env.PROVIDER_BASE_URL + "/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 256, messages: [{ role: "user", content: String(input) }] }) }); if (!r.ok) return Response.json({ error: r.status }, { status: 502 }); const body = await r.json(); return Response.json({ output: body.choices[0].message.content, usage: body.usage }); } };`;
const ws = { ours: mkw("/work/main/worker-example/dist/"), lite: mkw("/tmp/wlite/dist/"), plain: new Miniflare({ modules: true, script: plainWorker, compatibilityDate: "2025-09-01", bindings }) };
const sender = (mf) => (i) => mf.dispatchFetch("http://w/run", { method: "POST", body: JSON.stringify({ request: `q${i}` }) }).then((r) => r.text());
async function tp(mf, n) { const send = sender(mf); let next = 0; const t = performance.now(); await Promise.all(Array.from({ length: 8 }, async () => { while (next < n) await send(next++); })); return n / ((performance.now() - t) / 1000); }
for (const mf of Object.values(ws)) { const s = sender(mf); for (let i = 0; i < 100; i++) await s(i); }
const res = { ours: [], lite: [], plain: [] };
for (let r = 0; r < 7; r++) for (const [k, mf] of (r % 2 ? Object.entries(ws) : Object.entries(ws).reverse())) res[k].push(await tp(mf, 250));
const med = (xs) => [...xs].sort((a, b) => a - b)[3];
console.log(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, med(v).toFixed(0)])));
for (const mf of Object.values(ws)) await mf.dispose(); await mock.close();
