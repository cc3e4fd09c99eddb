// No function the wasm module exports returns a lone `externref`. V8 11.3 (Node 20)
// inlines a call of such an export into optimised JS; when the call runs JS that invalidates
// the caller's code, the deopt on its return hits UNREACHABLE and aborts the process (this
// suite's load test did, about one run in ten). Exports with several results are never
// inlined: the bindings return `Result`s for that (`Returned` in src/wasm/mod.rs). This reads
// the packaged module's own type, import, function and export sections.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const wasmUrl = new URL("./generated/reliable_orchestrator_bg.wasm", import.meta.resolve("reliable-orchestrator"));
const EXTERNREF = 0x6f;

/** The exported functions of a wasm binary with their result types. */
function exportedResults(bytes) {
  let at = 8;
  const u32 = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const name = () => {
    const length = u32();
    at += length;
    return Buffer.from(bytes.subarray(at - length, at)).toString();
  };
  const limits = () => {
    const flags = bytes[at++];
    u32();
    if (flags & 1) u32();
  };
  const types = [];
  const functions = [];
  const exports = [];
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        assert.equal(bytes[at++], 0x60, "a plain function type");
        const params = u32(); // (read before `at` is: u32 moves it)
        at += params;
        const results = [];
        for (let r = u32(); r > 0; r--) results.push(bytes[at++]);
        types.push(results);
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name();
        name();
        const kind = bytes[at++];
        if (kind === 0) functions.push(u32());
        else if (kind === 1) (at++, limits());
        else if (kind === 2) limits();
        else if (kind === 3) at += 2;
        else (at++, u32());
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) functions.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const exported = name();
        const kind = bytes[at++];
        const index = u32();
        if (kind === 0) exports.push([exported, types[functions[index]]]);
      }
    }
    at = end;
  }
  return exports;
}

test("no wasm export returns a lone externref (V8 11.3 aborts deoptimising an inlined one)", () => {
  const exports = exportedResults(readFileSync(wasmUrl));
  assert.ok(exports.length > 20, `${exports.length} exported functions read`);
  assert.ok(exports.some(([name]) => name === "wasmorchestrator_run"), "the run export is among them");
  const lone = exports.filter(([, results]) => results.length === 1 && results[0] === EXTERNREF).map(([name]) => name);
  assert.deepEqual(lone, []);
});
