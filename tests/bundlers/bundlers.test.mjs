// The packed package through the bundlers users pick, each bundle run in headless Chromium:
// the page (or web worker) must show the tiny app's answer (see app/core.js). The package is
// unpacked into node_modules by scripts/test-bundlers.sh. Outputs: target/bundlers/<name>/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, rmSync, writeFileSync, statSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import * as esbuild from "esbuild";
import { rollup } from "rollup";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import webpack from "webpack";
import { build as viteBuild } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const app = join(here, "app");
const out = join(here, "..", "..", "target", "bundlers");
const { expected } = await import("./app/core.js");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".map": "application/json" };
let server;
let base;
let browser;

before(async () => {
  server = createServer((req, res) => {
    const path = join(out, decodeURIComponent(new URL(req.url, "http://x").pathname));
    try {
      const body = readFileSync(path.endsWith("/") ? join(path, "index.html") : path);
      res.writeHead(200, { "content-type": types[extname(path) || ".html"] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

function page(name, script, { module = true } = {}) {
  writeFileSync(
    join(out, name, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>${name}</title><div id="result">loading</div>\n` +
      `<script ${module ? 'type="module" ' : ""}src="./${script}"></script>\n`,
  );
}

function workerPage(name, script) {
  writeFileSync(
    join(out, name, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>${name}</title><div id="result">loading</div>\n` +
      `<script>const w = new Worker("./${script}"); w.onmessage = (e) => { document.getElementById("result").textContent = e.data; }; ` +
      `w.onerror = (e) => { document.getElementById("result").textContent = "error: " + e.message; };</script>\n`,
  );
}

async function resultOf(name) {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  try {
    await tab.goto(`${base}/${name}/`);
    await tab.waitForFunction(() => document.getElementById("result").textContent !== "loading", null, { timeout: 20_000 }).catch(() => {});
    const text = await tab.locator("#result").textContent();
    return { text, errors };
  } finally {
    await tab.close();
  }
}

async function assertRuns(name) {
  const { text, errors } = await resultOf(name);
  assert.equal(text, expected, `page ${name}: ${text}\n${errors.join("\n")}`);
}

const files = (dir) => readdirSync(dir, { recursive: true }).map(String);

test("esbuild, ESM, reliable-orchestrator/embedded: no plugin, no asset", async () => {
  const name = "esbuild-esm";
  await esbuild.build({ entryPoints: [join(app, "main-embedded.js")], outfile: join(out, name, "app.js"), bundle: true, format: "esm", logLevel: "error" });
  assert.ok(!files(join(out, name)).some((f) => f.endsWith(".wasm")), "the embedded entry needs no .wasm beside the bundle");
  page(name, "app.js");
  await assertRuns(name);
});

test("esbuild, iife, target es2020 (no top-level await), reliable-orchestrator/embedded", async () => {
  const name = "esbuild-iife-es2020";
  await esbuild.build({ entryPoints: [join(app, "main-embedded.js")], outfile: join(out, name, "app.js"), bundle: true, format: "iife", target: "es2020", logLevel: "error" });
  page(name, "app.js", { module: false });
  await assertRuns(name);
});

test("Rollup with @rollup/plugin-node-resolve, ESM and iife, reliable-orchestrator/embedded", async () => {
  for (const format of ["es", "iife"]) {
    const name = `rollup-${format}`;
    const bundle = await rollup({ input: join(app, "main-embedded.js"), plugins: [nodeResolve({ browser: true })], onwarn: () => {} });
    await bundle.write({ file: join(out, name, "app.js"), format });
    await bundle.close();
    page(name, "app.js", { module: format === "es" });
    await assertRuns(name);
  }
});

test("Vite build, the default entry (the .wasm emitted as an asset)", async () => {
  const name = "vite";
  const root = join(out, "vite-src");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "index.html"), `<!doctype html><meta charset="utf-8"><div id="result">loading</div><script type="module" src="${join(app, "main.js")}"></script>\n`);
  await viteBuild({ root, base: "./", logLevel: "error", configFile: false, build: { outDir: join(out, name), emptyOutDir: true } });
  assert.ok(files(join(out, name)).some((f) => f.endsWith(".wasm")), "Vite emits the .wasm");
  await assertRuns(name);
});

function runWebpack(config) {
  return new Promise((resolve, reject) =>
    webpack(config, (err, stats) => {
      if (err) return reject(err);
      if (stats.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
      resolve(stats);
    }),
  );
}

test("webpack --target web, the default entry", async () => {
  const name = "webpack-web";
  await runWebpack({ mode: "production", target: "web", entry: join(app, "main.js"), output: { path: join(out, name), filename: "app.js", publicPath: "auto" } });
  assert.ok(files(join(out, name)).some((f) => f.endsWith(".wasm")), "webpack emits the .wasm");
  page(name, "app.js", { module: false });
  await assertRuns(name);
});

test("webpack --target webworker resolves the browser entry, not workerd's", async () => {
  const name = "webpack-webworker";
  await runWebpack({ mode: "production", target: "webworker", entry: join(app, "worker.js"), output: { path: join(out, name), filename: "worker.js", publicPath: "auto" } });
  workerPage(name, "worker.js");
  await assertRuns(name);
});

test("reliable-orchestrator/rules brings no wasm (esbuild, then in the page)", async () => {
  const name = "rules-only";
  await esbuild.build({ entryPoints: [join(app, "rules-only.js")], outfile: join(out, name, "app.js"), bundle: true, format: "esm", minify: true, logLevel: "error" });
  const js = readFileSync(join(out, name, "app.js"), "utf8");
  assert.ok(!/WebAssembly|wasmBase64|\.wasm/.test(js), "no wasm in a rules-only bundle");
  const size = statSync(join(out, name, "app.js")).size;
  assert.ok(size < 20_000, `rules-only bundle is ${size} bytes`);
  page(name, "app.js");
  const { text, errors } = await resultOf(name);
  assert.equal(text, "rules=1; invalid=invalid_config", errors.join("\n"));
  assert.equal(execFileSync(process.execPath, [join(out, name, "app.js")], { encoding: "utf8" }).trim(), "rules=1; invalid=invalid_config");
});
