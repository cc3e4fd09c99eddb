// Node entry: loads the wasm from the package directory before exporting anything.
import { readFileSync } from "node:fs";
import { initSync } from "./generated/reliable_orchestrator.js";

initSync({ module: readFileSync(new URL("./generated/reliable_orchestrator_bg.wasm", import.meta.url)) });

export * from "./index.js";
