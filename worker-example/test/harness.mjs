// Starts what the Worker needs locally: the mock provider on 127.0.0.1 and the built Worker in
// workerd through Miniflare, with a real KV namespace and Durable Object binding.
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import { startMockProvider } from "../../mock-provider/server.mjs";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

export const API_KEY = "sk-worker-secret-0123456789";

/** A Worker in workerd with these extra bindings; `close()` stops it. */
export async function startWorker(mockUrl, bindings = {}, { listen = false } = {}) {
  const mf = new Miniflare({
    ...(listen ? { host: "127.0.0.1", port: 0 } : {}),
    modules: true,
    scriptPath: `${dist}worker.js`,
    modulesRoot: dist,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-09-01",
    kvNamespaces: ["IDEMPOTENCY_KV"],
    durableObjects: { IDEMPOTENCY_DO: "IdempotencyDurableObject" },
    bindings: {
      PROVIDER_BASE_URL: `${mockUrl}/v1`,
      OPENAI_API_KEY: API_KEY,
      ANTHROPIC_API_KEY: API_KEY,
      BREAKER_TIMEOUT_S: "30",
      ...bindings,
    },
  });
  const url = await mf.ready;
  return {
    mf,
    /** Where it listens, with `listen: true` (for a browser). */
    url: String(url).replace(/\/$/, ""),
    /** POST /run with `{ request, options }`; resolves with { status, headers, body }. */
    async run(request, options, headers = {}) {
      const response = await mf.dispatchFetch("http://worker.local/run", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ request, options }),
      });
      return { status: response.status, headers: response.headers, body: await response.json() };
    },
    /** POST /run with `"stream": true`; resolves with { status, headers, events: [{ event, data }] }. */
    async stream(request, options) {
      const response = await mf.dispatchFetch("http://worker.local/run", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ request, options, stream: true }),
      });
      const text = await response.text();
      const events = text
        .split("\n\n")
        .filter((block) => block.trim() !== "")
        .map((block) => {
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
          return { event, data };
        });
      return { status: response.status, headers: response.headers, events };
    },
    async raw(path, init) {
      const response = await mf.dispatchFetch(`http://worker.local${path}`, init);
      return { status: response.status, headers: response.headers, body: await response.json() };
    },
    close: () => mf.dispose(),
  };
}

export { startMockProvider };
