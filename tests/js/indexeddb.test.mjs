// indexedDbStore in headless Chromium: the installed package is served from 127.0.0.1 and
// imported by a plain page through its browser entry (top-level await, no init()).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = process.env.RO_ROOT;
const { chromium } = createRequire(join(root, "package.json"))("playwright-core");
const pkgDir = dirname(fileURLToPath(import.meta.resolve("reliable-orchestrator")));
const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

function serve() {
  const server = createServer(async (req, res) => {
    const path = req.url === "/" ? "/index.html" : new URL(req.url, "http://x").pathname;
    try {
      const body = path === "/index.html"
        ? "<!doctype html><html lang=en><title>indexedDbStore test</title><body></body></html>"
        : await readFile(join(pkgDir, normalize(path).replace(/^(\.\.[/\\])+/, "")));
      res.writeHead(200, { "content-type": types[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

test("indexedDbStore keeps idempotency records across page loads in Chromium", { timeout: 60_000 }, async () => {
  const server = await serve();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const url = `http://127.0.0.1:${server.address().port}/`;
    await page.goto(url);
    const first = await page.evaluate(async () => {
      const { ReliableOrchestrator, indexedDbStore } = await import("/browser.js");
      const store = indexedDbStore("ro-test");
      await store.put("a", "1", { ttlMs: 60_000 });
      const basics = [await store.get("a"), await store.putIfAbsent("a", "2", { ttlMs: 60_000 }), await store.putIfAbsent("b", "3", { ttlMs: 60_000 })];
      await store.delete("b");
      await store.put("expired", "x", { ttlMs: 1 });
      await new Promise((r) => setTimeout(r, 10));
      basics.push(await store.get("b"), await store.get("expired"));
      let calls = 0;
      const o = new ReliableOrchestrator({
        tools: { t: { execute: async () => ({ output: `answer ${++calls}` }) } },
        defaultTools: ["t"],
        store,
      });
      const runs = await Promise.all([o.run("q", { idempotencyKey: "page-key" }), o.run("q", { idempotencyKey: "page-key" })]);
      return { basics, outputs: runs.map((r) => r.output), cached: runs.map((r) => r.cached), calls };
    });
    assert.deepEqual(first.basics, ["1", false, true, null, null]);
    assert.deepEqual(first.outputs, ["answer 1", "answer 1"]);
    assert.equal(first.calls, 1);
    await page.reload();
    const second = await page.evaluate(async () => {
      const { ReliableOrchestrator, indexedDbStore } = await import("/browser.js");
      let calls = 0;
      const o = new ReliableOrchestrator({ tools: { t: { execute: async () => ({ output: `new ${++calls}` }) } }, defaultTools: ["t"], store: indexedDbStore("ro-test") });
      const r = await o.run("q", { idempotencyKey: "page-key" });
      return { output: r.output, cached: r.cached, calls };
    });
    assert.deepEqual(second, { output: "answer 1", cached: true, calls: 0 }, "replayed from IndexedDB after a reload");
  } finally {
    await browser.close();
    server.close();
  }
});
