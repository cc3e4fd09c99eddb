// Browser and bundler entry: instantiates the wasm (fetched beside this file) with
// top-level await before exporting anything, so users never call init().
import init from "./generated/reliable_orchestrator.js";

await init({ module_or_path: new URL("./generated/reliable_orchestrator_bg.wasm", import.meta.url) });

export * from "./index.js";
