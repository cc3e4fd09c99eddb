// Cloudflare Workers (workerd) entry: the runtime compiles the imported .wasm module;
// initSync instantiates it. Nothing here touches timers or randomness at module scope.
// @ts-ignore: the .wasm import is provided by the Workers runtime / wrangler.
import wasmModule from "./generated/reliable_orchestrator_bg.wasm";
import { initSync } from "./generated/reliable_orchestrator.js";

initSync({ module: wasmModule as WebAssembly.Module });

export * from "./index.js";
