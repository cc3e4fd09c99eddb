// reliable-orchestrator: plan a tool per request and run it reliably.
// This module is environment-agnostic; the package's entries (node, browser, workerd)
// load the wasm first and re-export it.
import { WasmOrchestrator } from "./generated/reliable_orchestrator.js";
import { toError } from "./errors.js";
import type { BreakerState, CircuitStateSnapshot, OrchestratorConfig, RunOptions, RunResult, StreamOptions, ToolSet } from "./types.js";
import { RunStream } from "./stream.js";
import { abortContext, makeContext } from "./context.js";
import { eventEmitter, makeResult } from "./literals.js";
import { Driver } from "./driver.js";
import { registerBridge } from "./bridge.js";
import { uuidSource } from "./uuid.js";

/** Request ids for the driver; without `crypto.getRandomValues` every run goes to the Rust driver. */
const uuid = uuidSource();

export * from "./types.js";
export { OrchestratorError, ToolExecutionError, BudgetExceeded, ConflictError, StreamInterrupted } from "./errors.js";
export type { ErrorCode, ToolErrorCategory, BudgetType, ConflictReason } from "./errors.js";
export { RunStream } from "./stream.js";
export { RuleBasedPlanner, rules } from "./rules.js";
export { memoryStore, workersKvStore, indexedDbStore } from "./stores.js";
export { openaiChat, anthropicMessages, bundle } from "./tools.js";
export { durableObjectStore, IdempotencyDurableObject } from "./durable.js";
export type { DurableObjectNamespaceLike, DurableObjectStateLike } from "./durable.js";
export type { BuiltinTool, BundleOutput, BundleReplicate, BundleToolOptions, ModelPrice, ProviderToolOptions } from "./tools.js";
export type { KvNamespaceLike } from "./stores.js";
export { aiSdkTool, reliableModel } from "./adapters.js";
export type { AiSdkModelLike, AiSdkToolOptions, AssistantMessage, OrchestratorLike, ReliableLanguageModel, ReliableModelOptions, RequestTool } from "./adapters.js";
export { otelListener, w3cTraceId } from "./otel.js";
export type { AttributeValueLike, AttributesLike, OtelListener, OtelListenerOptions, SpanContextLike, SpanLike, TimeLike, ToolDescription, TracerLike } from "./otel.js";

/**
 * Plans a tool for each request by rules and runs it through retries, circuit breakers,
 * budgets, timeouts and idempotency. `Tools` is inferred from `config.tools`: tool names in
 * rules, `defaultTools` and `run`'s `toolName` are checked against its keys.
 */
export class ReliableOrchestrator<Tools extends ToolSet = ToolSet> {
  readonly #inner: WasmOrchestrator;
  readonly #driver: Driver | undefined;

  /** @throws OrchestratorError with code `invalid_config` and the offending `field`. */
  constructor(config: OrchestratorConfig<Tools>) {
    try {
      registerBridge();
      this.#inner = new WasmOrchestrator(config, makeContext, abortContext, eventEmitter, makeResult);
    } catch (raw) {
      throw toError(raw);
    }
    this.#driver = uuid === undefined ? undefined : new Driver(this.#inner, uuid);
  }

  /**
   * Plans and runs `request`.
   * @throws ToolExecutionError, BudgetExceeded, ConflictError, or OrchestratorError (`code`).
   */
  run<O = unknown>(request: unknown, options?: RunOptions<keyof Tools & string>): Promise<RunResult<O>> {
    const driven = this.#driver?.run<O>(request, options);
    if (driven !== undefined) return driven;
    return this.#inner.run(request, options).then(
      (result) => result as RunResult<O>,
      (raw) => {
        throw toError(raw);
      },
    );
  }

  /**
   * Plans and runs `request` as a stream (see `RunStream`): before the first chunk every rule
   * of `run` applies and failed attempts are invisible; after it nothing restarts silently.
   */
  runStream(request: unknown, options?: StreamOptions): RunStream {
    const controller = new AbortController();
    let passed: unknown = options;
    let release = () => {};
    try {
      if (options !== undefined && options !== null && Object.getPrototypeOf(options) === Object.prototype) {
        const outer = options.signal;
        if (outer !== undefined && outer !== null) {
          const forward = () => controller.abort(outer.reason);
          if (outer.aborted) forward();
          else outer.addEventListener("abort", forward, { once: true });
          release = () => outer.removeEventListener("abort", forward);
        }
        passed = { ...options, signal: controller.signal };
      } else if (options === undefined || options === null) {
        passed = { signal: controller.signal };
      }
    } catch {
      // Options that throw when read are the core's to report, as `invalid_request`.
      passed = options;
    }
    return new RunStream(
      (onChunk) =>
        this.#inner.runStream(request, passed, onChunk).then(
          (result) => {
            release();
            return result as RunResult<string>;
          },
          (raw) => {
            release();
            throw toError(raw);
          },
        ),
      (reason) => controller.abort(reason),
    );
  }

  /**
   * A dry run of planning: the tools the rules pick for `request`, in order, defaults last,
   * before breakers are considered (nothing is called).
   * @throws OrchestratorError with code `no_tool` when nothing matches and there is no default.
   */
  plan(request: unknown): string[] {
    try {
      return this.#inner.plan(request) as string[];
    } catch (raw) {
      throw toError(raw);
    }
  }

  /** Every provider's breaker as a call now would meet it. */
  circuitStates(): Record<string, CircuitStateSnapshot> {
    return this.#inner.circuitStates() as Record<string, CircuitStateSnapshot>;
  }

  /** Keyed executions under way in this isolate (for monitoring; 0 when idle). */
  inFlight(): number {
    return this.#inner.inFlight();
  }

  /** Breaker state as plain JSON with wall-clock times, for a host to persist. */
  exportState(): BreakerState {
    return this.#inner.exportState() as BreakerState;
  }

  /** Restores exported state; what cannot be used is reported as a `breaker` event (`import_ignored`). */
  importState(state: BreakerState): void {
    this.#inner.importState(state);
  }
}
