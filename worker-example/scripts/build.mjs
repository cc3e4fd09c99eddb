// Bundles the Worker the way wrangler does: esbuild with the `workerd` export condition, the
// package's .wasm kept as a separate CompiledWasm module next to the bundle.
import { build } from "esbuild";
import { rmSync } from "node:fs";

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: [new URL("../src/index.ts", import.meta.url).pathname],
  outfile: new URL("../dist/worker.js", import.meta.url).pathname,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  conditions: ["workerd", "worker"],
  loader: { ".wasm": "copy" },
  assetNames: "[name]",
  logLevel: "warning",
});
