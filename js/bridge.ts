// How the async Rust driver awaits promises and timers (src/wasm/promises.rs): a value is
// adopted and a timer armed here, with plain callbacks that report to the wasm module by
// number. wasm-bindgen's own way (`JsFuture`, gloo's timer) makes a closure per promise and
// per timer, each registered with a `FinalizationRegistry`: the largest single cost of a keyed
// run or a stream chunk.
import { settlePending, usePromiseBridge } from "./generated/reliable_orchestrator.js";

// How a value settled (src/wasm/promises.rs keeps the same numbers).
const FULFILLED = 0;
const REJECTED = 1;
const BROKEN = 2;

export const promiseThen = Promise.prototype.then;

/**
 * Whether `value` is an untouched native promise, which `await` adopts without running user
 * code: its own `then` and `constructor` are the built-ins (an own or overridden one could throw,
 * which is a broken promise, not a rejection).
 */
export function nativePromise(value: unknown, then: Function): value is Promise<unknown> {
  try {
    return (
      then === promiseThen &&
      value instanceof Promise &&
      Object.getPrototypeOf(value) === Promise.prototype &&
      !Object.prototype.hasOwnProperty.call(value, "constructor") &&
      Promise.prototype.constructor === Promise
    );
  } catch {
    // A Proxy's trap threw: adopt it the general way, where a throw is a broken promise.
    return false;
  }
}

/**
 * Adopts thenable `value` (its `then` read once by the caller) as the Promise resolve job
 * does: an untouched native promise directly; any other through a promise of ours whose
 * executor calls `then`, where a throw is a broken thenable, not a rejection. Never throws:
 * whatever throws here (a Proxy that passed `nativePromise`, a tampered `Promise`) is reported
 * as broken, a microtask later, so that nothing is called twice and `settlePending` never runs
 * inside this call.
 */
function adopt(value: unknown, then: Function, id: number): void {
  const fulfilled = (v: unknown) => settlePending(id, FULFILLED, v);
  try {
    if (nativePromise(value, then)) {
      promiseThen.call(value, fulfilled, (e: unknown) => settlePending(id, REJECTED, e));
      return;
    }
    let broken = false;
    const adopted = new Promise((resolve, reject) => {
      try {
        then.call(value, resolve, reject);
      } catch (thrown) {
        broken = true;
        reject(thrown);
      }
    });
    promiseThen.call(adopted, fulfilled, (e: unknown) => settlePending(id, broken ? BROKEN : REJECTED, e));
  } catch (thrown) {
    queueMicrotask(() => settlePending(id, BROKEN, thrown));
  }
}

/**
 * What `value` settles to, as the bindings adopt it (src/wasm/guard.rs): a non-thenable as it
 * is; an untouched native promise awaited as it is; any other thenable through a promise of
 * ours whose executor calls its `then` (read once). A `then` that throws, on read or on call,
 * rejects.
 */
export function settled(value: unknown): unknown {
  if ((typeof value !== "object" || value === null) && typeof value !== "function") return value;
  let then: unknown;
  try {
    then = (value as { then?: unknown }).then;
  } catch (thrown) {
    return Promise.reject(thrown);
  }
  if (typeof then !== "function") return value;
  if (nativePromise(value, then)) return value;
  return new Promise((resolve, reject) => {
    try {
      then.call(value, resolve, reject);
    } catch (thrown) {
      reject(thrown);
    }
  });
}

function sleep(ms: number, id: number): unknown {
  return setTimeout(settlePending, ms, id, FULFILLED, undefined);
}

function clear(timer: unknown): void {
  clearTimeout(timer as ReturnType<typeof setTimeout>);
}

let registered = false;

/** @internal Registers the bridge with the wasm module, once per instance. */
export function registerBridge(): void {
  if (registered) return;
  usePromiseBridge(adopt, sleep, clear);
  registered = true;
}
