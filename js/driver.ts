// The TypeScript driver of the run machine: it performs the machine's actions (call a JS tool,
// wait, arm the run's deadline and a call's timeout) in the host's own event loop and feeds the
// outcomes back as numbers. It decides nothing: every decision is the wasm machine's, answered
// as a packed action code. A built-in provider tool's request is built and its answer read in
// wasm; the driver sends it with `fetch`. Runs the machine sends elsewhere (keyed, `validate`,
// a signal that has already fired, a bundle, bad input) go to the async Rust driver; `run`
// then answers `undefined`.
import type { WasmOrchestrator } from "./generated/reliable_orchestrator.js";
import { toError } from "./errors.js";
import { LazyToolContext } from "./context.js";
import { nativePromise, promiseThen, settled } from "./bridge.js";
import type { RunResult } from "./types.js";

const HANDLE = (1 << 18) - 1;
const HAS_IDS = 1 << 18;
const HAS_DEADLINE = 1 << 19;
const HAS_SIGNAL = 1 << 20;
// Action codes: the kind in bits 0-2, a tool index in bits 3-12, a count from bit 16.
const CALL = 1;
const WAIT = 2;
const DONE = 3;
const HAS_OPTIONS = 1 << 13;
const HAS_TIMEOUT = 1 << 14;
const HAS_SPEND = 1 << 13;
const HAS_MESSAGE = 1 << 14;
const KEEP_OUTPUT = 1 << 3;
/** A call's outcome that arrived after the run moved on (a timeout fired first). */
const STALE = -1;
/** `#call`'s answer for a native promise the driver awaits itself (`#awaiting`). */
const AWAIT = -2;
/** setTimeout fires at once for delays above 2^31-1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** A JS tool, or `[name]`: a built-in tool whose HTTP request the driver sends with `fetch`. */
type HostTool = [name: string, self: unknown, execute: (...args: unknown[]) => unknown] | [name: string];
/** By the orchestrator's tool index; `null` for a tool whose runs the Rust driver performs (a bundle). */
type HostTools = Array<HostTool | null>;

function stopError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function delay(ms: number): number {
  return ms > 0 ? Math.min(Math.ceil(ms), MAX_TIMEOUT_MS) : 0;
}

/** Whether `value` is plainly `{ output }`: nothing else the machine must read or check. */
function plainOutput(value: unknown): boolean {
  try {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    const v = value as Record<string, unknown>;
    return "output" in v && v.usage === undefined && v.costUsd === undefined && v.cost_usd === undefined && v.message === undefined;
  } catch {
    return false;
  }
}

/** `get()`, or `undefined` when it throws. */
function read<T>(get: () => T): T | undefined {
  try {
    return get();
  } catch {
    return undefined;
  }
}

/**
 * Keeps an abandoned promise's rejection from going unhandled: only an untouched native one
 * (`nativePromise`: no own `constructor`), so that `then` runs no user code.
 */
function abandon(value: unknown): void {
  try {
    if (nativePromise(value, promiseThen)) promiseThen.call(value, undefined, () => {});
  } catch {
    // A Proxy's trap threw: nothing more can be done for it.
  }
}

/** Whether `signal` is a host `AbortSignal` (`fetch` rejects anything else). */
function realSignal(signal: AbortSignal): boolean {
  try {
    return typeof AbortSignal === "function" && signal instanceof AbortSignal;
  } catch {
    return false;
  }
}

/** Headers a response may carry: more is a hostile or broken one (`MAX_HEADERS` in src/wasm/fetch.rs). */
const MAX_HEADERS = 256;

/**
 * The retry hints among a response's headers (`retry-after-ms`, `retry-after`: the only ones a
 * failure reads): through `get` as on `Headers`, each read guarded; else from the `[name, value]`
 * pairs they iterate, read once as the Rust driver reads them (the first string pair of a name;
 * an unreadable pair is skipped, an iterator that throws stops the reading).
 */
function hints(headers: unknown): [ms: string | undefined, seconds: string | undefined] {
  const get = read(() => (headers as Headers).get);
  if (typeof get === "function") {
    const named = (name: string) => {
      const value = read(() => get.call(headers, name));
      return typeof value === "string" ? value : undefined;
    };
    return [named("retry-after-ms"), named("retry-after")];
  }
  const found: [string | undefined, string | undefined] = [undefined, undefined];
  try {
    let pairs = 0;
    for (const pair of headers as Iterable<unknown[]>) {
      if (++pairs > MAX_HEADERS) break;
      const name = read(() => pair[0]);
      const value = read(() => pair[1]);
      if (typeof name !== "string" || typeof value !== "string") continue;
      const lower = name.toLowerCase();
      if (lower === "retry-after-ms") found[0] ??= value;
      else if (lower === "retry-after") found[1] ??= value;
    }
  } catch {
    // What the iterator gave before it threw still counts.
  }
  return found;
}

/**
 * `[requestId, traceId, idempotencyKey, signal]` of run options that hold nothing else, each an
 * own data property (strings but the signal); `undefined` for any other options, which the
 * bindings read. A Proxy's `ownKeys` and `getOwnPropertyDescriptor` traps may run here and
 * again there.
 */
function idsOnly(options: unknown): [string | undefined, string | undefined, string | undefined, unknown] | undefined {
  if (typeof options !== "object" || options === null) return undefined;
  try {
    if (Object.getPrototypeOf(options) !== Object.prototype) return undefined;
    const keys = Object.keys(options);
    if (keys.length > 4) return undefined;
    let requestId: string | undefined;
    let traceId: string | undefined;
    let key: string | undefined;
    let signal: unknown;
    for (const name of keys) {
      const property = Object.getOwnPropertyDescriptor(options, name);
      if (property === undefined || !("value" in property)) return undefined;
      const value: unknown = property.value;
      if (name === "requestId" && typeof value === "string") requestId = value;
      else if (name === "traceId" && typeof value === "string") traceId = value;
      else if (name === "idempotencyKey" && typeof value === "string") key = value;
      else if (name === "signal") signal = value;
      else return undefined;
    }
    // The bindings read `signal` and `validate` as plain gets: inherited or non-enumerable
    // ones count there, so they are the bindings' to read (`in` runs no getter).
    if ("validate" in options || (!keys.includes("signal") && "signal" in options)) return undefined;
    return [requestId, traceId, key, signal];
  } catch {
    return undefined;
  }
}

/**
 * What a planner that reads only `query` needs of `request`: the string of its own data
 * property `query`, read here in one step, or else the request itself (read by the bindings,
 * so a getter still runs once). Planning a string plans it as the `query`. A Proxy's
 * `getOwnPropertyDescriptor` trap may run here and again in the bindings.
 */
function queryOf(request: unknown): unknown {
  if (typeof request !== "object" || request === null) return request;
  try {
    const query = Object.getOwnPropertyDescriptor(request, "query");
    return query !== undefined && typeof query.value === "string" ? query.value : request;
  } catch {
    return request;
  }
}

export class Driver {
  readonly #w: WasmOrchestrator;
  readonly #tools: HostTools;
  readonly #listening: boolean;
  /** Runs without options plan from numbers alone (no rules, no listener). */
  readonly #byDefault: boolean;
  /** The rules read only `query`: `begin` is given its string, not the request. */
  readonly #byQuery: boolean;
  readonly #uuid: () => string;
  /** Keyed runs' records are read here (the store is a JS one). */
  readonly #readsKeys: boolean;

  constructor(w: WasmOrchestrator, uuid: () => string) {
    this.#w = w;
    this.#tools = w.hostTools() as HostTools;
    this.#listening = w.listening();
    this.#byDefault = w.plansByDefault();
    this.#byQuery = w.plansByQuery();
    this.#uuid = uuid;
    this.#readsKeys = w.readsKeys();
  }

  /** Runs `request` here, or answers `undefined` for the Rust driver. */
  run<O>(request: unknown, options: unknown): Promise<RunResult<O>> | undefined {
    const w = this.#w;
    const started = performance.now();
    const planned = this.#byQuery ? queryOf(request) : request;
    const idOptions = options === undefined ? undefined : idsOnly(options);
    // One call plans and starts the run: handle and flags above 2^32, the first action below.
    // A request id of the driver's own is made only for a run whose options give none.
    let packed: number;
    let requestId: string;
    let traceId: string;
    if (options === undefined) {
      requestId = traceId = this.#uuid();
      const rid = this.#listening ? requestId : undefined;
      if (this.#byDefault) packed = w.beginDefault(started);
      else if (typeof planned === "string" && this.#byQuery) packed = w.beginQuery(planned, started, rid);
      else packed = w.begin(planned, undefined, started, rid);
    } else if (idOptions !== undefined && idOptions[2] !== undefined && idOptions[3] === undefined && this.#readsKeys) {
      // Ids and a key only: the record is read here; a hit never reaches the Rust driver.
      const handle = w.beginKeyed(request, options, idOptions[0], idOptions[1], idOptions[2], started, idOptions[0] ?? this.#uuid());
      return handle === 0 ? undefined : (this.#keyed(handle, request, options) as Promise<RunResult<O>>);
    } else if (idOptions !== undefined) {
      // Ids, a key and a signal only: read here, checked by `beginIds` as `begin` checks them.
      const own = idOptions[0] === undefined ? this.#uuid() : undefined;
      requestId = idOptions[0] ?? own!;
      traceId = idOptions[1] ?? requestId;
      packed = w.beginIds(planned, options, idOptions[0], idOptions[1], idOptions[2], idOptions[3], started, own);
    } else {
      requestId = traceId = this.#uuid();
      packed = w.begin(planned, options, started, requestId);
    }
    if (packed < 0) return undefined;
    const begun = (packed / 4294967296) >>> 0;
    const first = packed >>> 0;
    const handle = begun & HANDLE;
    if (begun & HAS_IDS && idOptions === undefined) [traceId, requestId] = w.ids(handle).split("\n") as [string, string];
    const run = new Run(w, this.#tools, handle, request, traceId, requestId, started, (begun & HAS_IDS) !== 0);
    let code = run.took(first);
    if ((first & 7) <= WAIT) {
      if (begun & HAS_SIGNAL) code = run.follow(w.signal(handle), first);
      if (begun & HAS_DEADLINE && (code & 7) <= WAIT) run.armDeadline();
    }
    return run.drive(code) as Promise<RunResult<O>>;
  }

  /**
   * A keyed run `beginKeyed` planned: its record read from the store (`get` called by the
   * bindings, its answer awaited here), a hit replayed by the bindings, anything else run by
   * the Rust driver with that read.
   */
  async #keyed(handle: number, request: unknown, options: unknown): Promise<RunResult> {
    const w = this.#w;
    let failed = false;
    let value: unknown;
    try {
      value = await settled(w.keyedGet(handle));
    } catch (thrown) {
      failed = true;
      value = thrown;
    }
    const hit = w.keyedRead(handle, failed, value) as RunResult | undefined;
    if (hit !== undefined) return hit;
    return w.run(request, options).then(
      (result) => result as RunResult,
      (raw) => {
        throw toError(raw);
      },
    );
  }
}

/** One run the driver performs. */
class Run {
  readonly #w: WasmOrchestrator;
  readonly #tools: HostTools;
  readonly #handle: number;
  readonly #request: unknown;
  readonly #traceId: string;
  readonly #requestId: string;
  readonly #started: number;
  /** The machine holds the run's ids (they came from its options). */
  readonly #ownIds: boolean;
  #output: unknown = undefined;
  /** The promise `#call` answered `AWAIT` for. */
  #awaiting: Promise<unknown> | undefined = undefined;
  /** When the last call answered: the end of a run its answer finishes. */
  #answeredAt = 0;
  /** Bumped when a timer ends a call or wait early: an outcome of an older number is stale. */
  #seq = 0;
  #ctx: LazyToolContext | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** The caller's signal and the listener this run added to it. */
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #pendingStop: [stop: () => number, reason: unknown] | undefined;
  /** Ends the current call or wait early, with the code a timer got. */
  #interrupt: ((code: number) => void) | undefined;
  /** A wasm input of this run is being applied (see `#apply`). */
  #applying = false;
  /** The code that ended the run, and what the bindings left for it, read at once. */
  #final: number | undefined;
  #usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  #costUsd: number | null = null;
  #message: unknown = null;
  #raw: Record<string, unknown> | undefined;

  constructor(w: WasmOrchestrator, tools: HostTools, handle: number, request: unknown, traceId: string, requestId: string, started: number, ownIds: boolean) {
    this.#w = w;
    this.#tools = tools;
    this.#handle = handle;
    this.#request = request;
    this.#traceId = traceId;
    this.#requestId = requestId;
    this.#started = started;
    this.#ownIds = ownIds;
  }

  armDeadline(): void {
    const [at, reason] = this.#w.deadlineAt(this.#handle) as unknown as [number, number];
    const name = reason === 3 ? "the run's time budget ran out" : "the run timed out";
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      this.#end(() => this.took(this.#w.stop(this.#handle, reason, performance.now())), stopError("TimeoutError", name));
    }, delay(at - performance.now()));
  }

  /**
   * Stops the run when the caller's signal fires. The signal was checked by the bindings; every
   * access is still guarded (a getter or `addEventListener` may throw): a signal that cannot be
   * listened to stops the run now rather than let it run blind.
   */
  follow(signal: AbortSignal, first: number): number {
    this.#signal = signal;
    const abort = () => {
      this.#onAbort = undefined;
      this.#end(() => this.took(this.#w.stop(this.#handle, 1, performance.now())), stopError("AbortError", "the run was aborted"));
    };
    try {
      signal.addEventListener("abort", abort, { once: true });
      this.#onAbort = abort;
      // Fired while the run was planned (a request getter aborted it): stop now.
      if (signal.aborted !== false) {
        this.#unfollow();
        return this.took(this.#w.stop(this.#handle, 1, performance.now()));
      }
      return first;
    } catch {
      return this.took(this.#w.stop(this.#handle, 1, performance.now()));
    }
  }

  #unfollow(): void {
    const onAbort = this.#onAbort;
    this.#onAbort = undefined;
    if (onAbort === undefined) return;
    try {
      this.#signal!.removeEventListener("abort", onAbort);
    } catch {
      // A signal that cannot be unlistened holds a no-op: the run has ended.
    }
  }

  /** A timer ended the run's current step: abort its call, hand over the code. */
  #end(stop: () => number, reason: unknown): void {
    // The run has ended (a listener of its last step aborted its signal): nothing to stop.
    if (this.#final !== undefined) return;
    const interrupt = this.#interrupt;
    if (interrupt === undefined || this.#applying) {
      // Fired while the run is synchronous (a tool aborting its caller's controller inside
      // `execute`, or a listener of an input's events aborting the caller's signal): the stop
      // wins over whatever that call answers, as soon as it returns, unless that ended the run.
      this.#pendingStop ??= [stop, reason];
      return;
    }
    this.#interrupt = undefined;
    this.#seq++;
    this.#ctx?.abort(reason);
    interrupt(stop());
  }

  /**
   * Calls `input`, a wasm input of this run. Its events reach the listener before it returns,
   * and a listener may abort the caller's signal: that stop must wait (`#end`), or it would be
   * applied to a run the input just ended, or to another run begun in its table slot.
   */
  #apply<T>(input: () => T): T {
    const was = this.#applying;
    this.#applying = true;
    try {
      return input();
    } finally {
      this.#applying = was;
    }
  }

  /** The stop that fired while the run was synchronous, now applied. */
  #takeStop(): number {
    const [stop, reason] = this.#pendingStop!;
    this.#pendingStop = undefined;
    this.#seq++;
    this.#ctx?.abort(reason);
    return stop();
  }

  async drive(code: number): Promise<RunResult> {
    try {
      for (;;) {
        const kind = code & 7;
        if (kind <= WAIT && this.#pendingStop !== undefined) {
          code = this.#takeStop();
          continue;
        }
        if (kind === CALL) {
          const called = this.#call(code);
          if (called === AWAIT) {
            // A native promise and nothing that could end the call early: awaited here,
            // without a frame of its own.
            const promise = this.#awaiting!;
            this.#awaiting = undefined;
            let settled: unknown;
            try {
              settled = await promise;
            } catch (thrown) {
              code = this.took(this.#apply(() => this.#w.fail(this.#handle, thrown, false, performance.now())));
              continue;
            }
            code = this.#answered(settled);
          } else code = typeof called === "number" ? called : await called;
        } else if (kind === WAIT) code = await this.#wait();
        else if (kind === DONE) return this.#result(code);
        else throw this.#error(code);
      }
    } finally {
      if (this.#deadline !== undefined) clearTimeout(this.#deadline);
      if (this.#signal !== undefined) this.#unfollow();
    }
  }

  /**
   * A step that a timer may end early: `work` races the run's interrupt. One promise, settled
   * by whichever comes first (a `Promise.race` of `work` and an interrupt promise made three);
   * what comes second is ignored.
   */
  #interruptible(work: number | Promise<number>, timeoutMs: number): number | Promise<number> {
    if (typeof work === "number" || (this.#deadline === undefined && this.#signal === undefined && timeoutMs === 0)) return work;
    if (this.#pendingStop !== undefined) return this.#takeStop();
    return new Promise<number>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const finish = () => {
        if (settled) return false;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        // Only this step's: a later step may have set an interrupt of its own.
        if (this.#interrupt === done) this.#interrupt = undefined;
        return true;
      };
      const done = (code: number) => {
        if (finish()) resolve(code);
      };
      this.#interrupt = done;
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.#end(() => this.took(this.#w.timedOut(this.#handle, performance.now())), stopError("TimeoutError", "the attempt timed out"));
        }, delay(timeoutMs));
      }
      // `work` settles with a code (its failures are codes); a rejection is the bindings' own
      // failure, which ends the run as it did through `Promise.race`.
      promiseThen.call(work, done, (error: unknown) => {
        if (finish()) reject(error);
      });
    });
  }

  #call(code: number): number | Promise<number> {
    const w = this.#w;
    const tool = this.#tools[(code >>> 3) & 0x3ff]!;
    if (tool.length === 1) return this.#exchange(code, tool[0]);
    const options = code & HAS_OPTIONS ? w.toolOptions(this.#handle) : undefined;
    const ctx = new LazyToolContext(this.#traceId, this.#requestId, code >>> 16, tool[0], undefined, undefined, w);
    this.#ctx = ctx;
    const timeoutMs = code & HAS_TIMEOUT ? w.callTimeout(this.#handle) : 0;
    const seq = this.#seq;
    let value: unknown;
    try {
      value = tool[2]!.call(tool[1], this.#request, options, ctx);
    } catch (thrown) {
      if (this.#pendingStop !== undefined) return this.#takeStop();
      return this.took(this.#apply(() => w.fail(this.#handle, thrown, false, performance.now())));
    }
    if (this.#pendingStop !== undefined) {
      abandon(value);
      return this.#takeStop();
    }
    if ((typeof value === "object" && value !== null) || typeof value === "function") {
      let then: unknown;
      try {
        then = (value as { then?: unknown }).then;
      } catch (thrown) {
        return this.took(this.#apply(() => w.fail(this.#handle, thrown, true, performance.now())));
      }
      if (typeof then !== "function") return this.#answered(value);
      const native = nativePromise(value, then);
      if (native && timeoutMs === 0 && this.#deadline === undefined && this.#signal === undefined) {
        this.#awaiting = value as Promise<unknown>;
        return AWAIT;
      }
      return this.#interruptible(this.#settle(value, then, native, seq), timeoutMs);
    }
    return this.#answered(value);
  }

  /**
   * A built-in tool's call: the wasm tool builds its request, the driver sends it with the
   * host's `fetch` (with a signal only when something can end the call: a signal costs Node's
   * fetch about 65 µs) and reads the status, the retry hints and the body; the tool reads the
   * answer. Everything read of a `Response` is guarded: a throw is the call's network failure.
   */
  #exchange(code: number, name: string): number | Promise<number> {
    const w = this.#w;
    const timeoutMs = code & HAS_TIMEOUT ? w.callTimeout(this.#handle) : 0;
    const ids = this.#ownIds ? undefined : `${this.#traceId}\n${this.#requestId}`;
    const args = this.#apply(() => w.exchange(this.#handle, this.#request, ids, performance.now()));
    if (typeof args === "number") return this.took(args);
    const [url, init] = JSON.parse(args as string) as [string, RequestInit];
    this.#ctx = undefined;
    const timed = timeoutMs > 0 || this.#deadline !== undefined;
    if (!timed && this.#signal !== undefined && realSignal(this.#signal)) {
      // Only the caller's signal can end the call: `fetch` follows it itself.
      init.signal = this.#signal;
    } else if (timed || this.#signal !== undefined) {
      // A controller of ours, aborted by `#end`.
      const ctx = new LazyToolContext(this.#traceId, this.#requestId, code >>> 16, name, "", undefined);
      this.#ctx = ctx;
      try {
        init.signal = ctx.signal;
      } catch {
        // No AbortController on this host: the request goes uncancellable, the run still stops.
      }
    }
    // A request getter may have aborted the caller's signal while wasm read it: nothing is sent.
    if (this.#pendingStop !== undefined) return this.#takeStop();
    let sent: unknown;
    try {
      const fetch = globalThis.fetch;
      if (typeof fetch !== "function") return this.took(this.#apply(() => w.exchangeFailed(this.#handle, "this host has no fetch", performance.now())));
      sent = fetch.call(globalThis, url, init);
    } catch (thrown) {
      if (this.#pendingStop !== undefined) return this.#takeStop();
      return this.took(this.#apply(() => w.exchangeFailed(this.#handle, thrown, performance.now())));
    }
    // A `fetch` of the host's own may have aborted the caller's signal as it was called: its
    // promise, now abandoned, must not reject unhandled.
    if (this.#pendingStop !== undefined) {
      abandon(sent);
      return this.#takeStop();
    }
    return this.#interruptible(this.#fetched(sent, this.#seq), timeoutMs);
  }

  /** The answer to `fetch`'s promise `sent`, handed to the wasm tool. */
  async #fetched(sent: unknown, seq: number): Promise<number> {
    const w = this.#w;
    let status: unknown, retryAfterMs: string | undefined, retryAfter: string | undefined, body: unknown;
    try {
      const response = (await sent) as Response;
      if (seq !== this.#seq) return STALE;
      // Each read guarded on its own: an unreadable status is none, unreadable headers are none.
      status = read(() => response.status);
      const headers = read(() => response.headers);
      [retryAfterMs, retryAfter] = hints(headers);
      const text = read(() => response.text);
      if (typeof text !== "function") throw "the response has no text()";
      body = await text.call(response);
    } catch (thrown) {
      return seq === this.#seq ? this.took(this.#apply(() => w.exchangeFailed(this.#handle, thrown, performance.now()))) : STALE;
    }
    if (seq !== this.#seq) return STALE;
    const now = performance.now();
    this.#answeredAt = now;
    const code = typeof status === "number" ? status : 0;
    const next = this.#apply(() => w.exchanged(this.#handle, code, retryAfterMs, retryAfter, typeof body === "string" ? body : "", now));
    this.#output = w.takeOutput();
    return this.took(next);
  }

  /** Adopts a promise or thenable without `Promise.resolve` on it: a throwing `then` is broken. */
  async #settle(value: unknown, then: Function, native: boolean, seq: number): Promise<number> {
    let broken = false;
    let settled: unknown;
    try {
      settled = native
        ? await value
        : await new Promise((resolve, reject) => {
        try {
          then.call(value, resolve, reject);
        } catch (thrown) {
          broken = true;
          reject(thrown);
        }
      });
    } catch (thrown) {
      return seq === this.#seq ? this.took(this.#apply(() => this.#w.fail(this.#handle, thrown, broken, performance.now()))) : STALE;
    }
    return seq === this.#seq ? this.#answered(settled, seq) : STALE;
  }

  /**
   * The call answered `value`. Its getters run here and in the bindings, and may stop the run
   * (a caller's signal aborted from one): the answer is then stale, never applied.
   */
  #answered(value: unknown, seq = this.#seq): number {
    const now = performance.now();
    this.#answeredAt = now;
    let plain = plainOutput(value);
    try {
      this.#output = (value as { output?: unknown }).output;
    } catch {
      // A getter threw: the bindings read it again and report an invalid output.
      plain = false;
    }
    if (this.#pendingStop !== undefined) return this.#takeStop();
    if (seq !== this.#seq) return STALE;
    return this.took(this.#apply(() => (plain ? this.#w.succeed(this.#handle, now) : this.#w.succeedWith(this.#handle, value, now))));
  }

  #wait(): Promise<number> {
    const ms = this.#w.waitMs(this.#handle);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const woke = new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(this.took(this.#apply(() => this.#w.wake(this.#handle, performance.now())))), delay(ms));
    });
    const code = this.#interruptible(woke, 0);
    return Promise.resolve(code).then((c) => {
      clearTimeout(timer);
      return c;
    });
  }

  /**
   * `code`, the answer of a wasm input. When it ends the run, what the bindings left for the
   * run to read (usage, cost, message, or the error) is read now: another run's input could
   * replace it before this run's `drive` wakes up. The driver passes `begin`'s first action.
   */
  took(code: number): number {
    const kind = code & 7;
    if (kind < DONE || this.#final !== undefined) return code;
    this.#final = code;
    const w = this.#w;
    if (kind === DONE) {
      if (code & HAS_SPEND) {
        this.#usage = { promptTokens: w.lastTokens(0), completionTokens: w.lastTokens(1), totalTokens: w.lastTokens(2) };
        const cost = w.lastCost();
        this.#costUsd = Number.isNaN(cost) ? null : cost;
      }
      if (code & HAS_MESSAGE) this.#message = w.lastMessage();
    } else this.#raw = w.lastError() as Record<string, unknown>;
    return code;
  }

  #result(code: number): RunResult {
    return {
      output: this.#output,
      toolName: this.#tools[(code >>> 3) & 0x3ff]![0],
      attempts: code >>> 16,
      cached: false,
      usage: this.#usage,
      costUsd: this.#costUsd,
      message: this.#message,
      traceId: this.#traceId,
      requestId: this.#requestId,
      // A run ends when its last call answers (`succeed` was given that time).
      elapsedMs: this.#answeredAt - this.#started,
    } as RunResult;
  }

  #error(code: number): unknown {
    const raw = this.#raw ?? {};
    raw.traceId = this.#traceId;
    raw.requestId = this.#requestId;
    if (code & KEEP_OUTPUT) raw.output = this.#output;
    if (raw.code === "aborted" && this.#signal !== undefined) {
      try {
        raw.cause = this.#signal.reason;
      } catch {
        // An unreadable reason: the error goes without a cause.
      }
    }
    return toError(raw);
  }
}
