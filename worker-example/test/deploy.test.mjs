// `wrangler deploy --dry-run`: wrangler itself (offline, no account) bundles the Worker with the
// package's workerd entry and its .wasm, and sees every binding of wrangler.toml.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = fileURLToPath(new URL("..", import.meta.url));
const outdir = fileURLToPath(new URL("../dist/wrangler", import.meta.url));

test("wrangler deploy --dry-run bundles the Worker with its wasm and bindings, offline", async () => {
  rmSync(outdir, { recursive: true, force: true });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url)), "deploy", "--dry-run", "--outdir", outdir],
    { cwd: here, timeout: 120_000, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" } },
  );
  for (const binding of ["IDEMPOTENCY_DO", "IDEMPOTENCY_KV", "PROVIDER_BASE_URL"]) assert.match(stdout, new RegExp(binding));
  assert.match(stdout, /--dry-run: exiting now/);
  const files = readdirSync(outdir);
  assert.ok(files.includes("index.js"), files.join(", "));
  const wasm = files.find((f) => f.endsWith(".wasm"));
  assert.ok(wasm, `the package's .wasm is a module of the upload: ${files.join(", ")}`);
  const bundle = readFileSync(`${outdir}/index.js`, "utf8");
  assert.ok(bundle.includes(wasm), "the bundle imports the .wasm module");
  assert.ok(!bundle.includes("wasmBase64"), "wrangler picks the workerd entry, not the embedded one");
  assert.match(bundle, /IdempotencyDurableObject/);
});
