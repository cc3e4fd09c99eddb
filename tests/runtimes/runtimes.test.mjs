// The packed package in Deno and Bun (both from npm) and in Node 18 and 22 (binaries from npm),
// each running the tiny app through its own module resolution. Deno gets no permission at all
// (the `deno` export condition selects the embedded entry). The package is unpacked into
// node_modules by scripts/test-runtimes.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const bin = (...p) => join(here, "node_modules", ...p);
const { expected } = await import("../bundlers/app/core.js");
const run = async (file, args) => (await promisify(execFile)(file, args, { cwd: here, timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } })).stdout.trim();

test("Deno, with no permission flags", async () => {
  assert.equal(await run(bin(".bin", "deno"), ["run", "--no-prompt", "app.mjs"]).catch((e) => e.stderr || e.message), expected);
});

test("Bun", async () => {
  assert.equal(await run(bin(".bin", "bun"), ["app.mjs"]), expected);
});

const node18 = bin("node18", "bin", "node");
const node22 = bin("node22", "bin", "node");

test("Node 18: import works; require() is ERR_REQUIRE_ESM (the package is ESM-only)", { skip: !existsSync(node18) && "no node18 binary (Linux x64 only)" }, async () => {
  assert.equal(await run(node18, ["app.mjs"]), expected);
  assert.equal(await run(node18, ["require.cjs"]), "ERR_REQUIRE_ESM");
});

test("Node 22: import works, and so does require() (require(esm))", { skip: !existsSync(node22) && "no node22 binary (Linux x64 only)" }, async () => {
  assert.equal(await run(node22, ["app.mjs"]), expected);
  assert.equal(await run(node22, ["--no-warnings", "require.cjs"]), "function");
});
