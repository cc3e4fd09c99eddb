// Embedded entry (`reliable-orchestrator/embedded`, and the `deno` condition): the wasm bytes
// ship inside this JavaScript (base64, generated at build time), so there is no asset to emit,
// nothing to fetch or read from disk, no permission to grant and no top-level await. For
// bundlers that cannot emit the .wasm (esbuild, Rollup), iife bundles and targets below ES2022,
// and Deno without --allow-read. Costs a third more bytes than the .wasm beside it (before gzip).
import { initSync } from "./generated/reliable_orchestrator.js";
import { wasmBase64 } from "./generated/wasm-base64.js";

function decode(base64: string): Uint8Array {
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (typeof fromBase64 === "function") return fromBase64(base64);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

initSync({ module: decode(wasmBase64) as BufferSource });

export * from "./index.js";
