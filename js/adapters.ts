// Adapters to the Vercel AI SDK, typed structurally so the package never imports `ai` or
// `@ai-sdk/*` at run time:
//   aiSdkTool(model)            an AI SDK language model (LanguageModelV2 / V3) as an orchestrator tool
//   reliableModel(orchestrator) an AI SDK LanguageModelV2 whose calls go through the orchestrator
import type { RunOptions, RunResult, Tool, ToolContext, ToolResult } from "./types.js";

/** The normalised assistant message (the built-in tools' `result.message` shape). */
export interface AssistantMessage {
  text: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  refusal: string | null;
  finishReason: string;
}

/** A function tool as a request carries it (`parameters` is a JSON Schema). */
export interface RequestTool {
  name: string;
  description?: string;
  parameters?: unknown;
}

/** The part of an AI SDK `LanguageModelV2` / `V3` that `aiSdkTool` calls. */
export interface AiSdkModelLike {
  readonly specificationVersion?: string;
  readonly provider?: string;
  readonly modelId?: string;
  doGenerate(options: Record<string, unknown>): PromiseLike<{
    content?: unknown[];
    text?: string;
    finishReason?: unknown;
    usage?: unknown;
  }>;
}

/** Options of `aiSdkTool`. */
export interface AiSdkToolOptions {
  /** The circuit breaker this tool reports to (default: the model's provider up to the first dot, e.g. `openai`). */
  provider?: string;
  /** Output token limit (`toolOptions.maxTokens` / `maxOutputTokens` override per run). */
  maxOutputTokens?: number;
  temperature?: number;
  /** More call options passed to `doGenerate` as they are (`topP`, `seed`, `providerOptions`, ...). */
  callOptions?: Record<string, unknown>;
  /** `"text"` (default): `output` is the reply text; `"message"`: the whole `AssistantMessage` (tool calls included). */
  output?: "text" | "message";
  /** Send `traceparent` and `x-request-id` headers (default true). */
  propagateTrace?: boolean;
}

type Part = { type: string; [key: string]: unknown };
type PromptMessage = { role: string; content: unknown; [key: string]: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function textParts(content: unknown): Part[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? (content as Part[]) : [];
}

/** A request (`"text"`, `{ query, system? }` or `{ messages, system? }`) as an AI SDK prompt. */
function toPrompt(request: unknown): PromptMessage[] {
  const prompt: PromptMessage[] = [];
  const system = isObject(request) ? request.system : undefined;
  if (typeof system === "string" && system !== "") prompt.push({ role: "system", content: system });
  if (typeof request === "string") {
    prompt.push({ role: "user", content: textParts(request) });
  } else if (isObject(request) && Array.isArray(request.messages)) {
    for (const m of request.messages as PromptMessage[]) {
      if (!isObject(m)) continue;
      if (m.role === "system") {
        const text = typeof m.content === "string" ? m.content : textParts(m.content).map((p) => p.text ?? "").join("");
        prompt.push({ role: "system", content: text });
      } else {
        prompt.push({ ...m, content: textParts(m.content) });
      }
    }
  } else if (isObject(request) && request.query !== undefined) {
    prompt.push({ role: "user", content: textParts(String(request.query)) });
  } else {
    throw new TypeError("aiSdkTool: the request must be a string, { query } or { messages }");
  }
  return prompt;
}

function tokens(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  // LanguageModelV3: { total, ... }
  if (isObject(v) && typeof v.total === "number") return v.total;
  return undefined;
}

function finishReasonOf(v: unknown): string {
  if (typeof v === "string") return v;
  // LanguageModelV3: { unified, raw }
  if (isObject(v) && typeof v.unified === "string") return v.unified;
  return "unknown";
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * Makes an AI SDK language model (`openai("gpt-4o-mini")`, `anthropic("claude-...")`, ...) an
 * orchestrator tool. It calls the model's own `doGenerate` (so the AI SDK does no retries of its
 * own) with the run's abort signal; what the model throws (`APICallError` with `statusCode`,
 * `isRetryable`, `responseHeaders`) is classified as it is. The result carries `usage` and the
 * normalised `message`.
 */
export function aiSdkTool(model: AiSdkModelLike, options: AiSdkToolOptions = {}): Tool<unknown, unknown> {
  if (!isObject(model) || typeof model.doGenerate !== "function") {
    throw new TypeError("aiSdkTool: expected an AI SDK language model (with doGenerate)");
  }
  const provider = options.provider ?? (typeof model.provider === "string" && model.provider !== "" ? model.provider.split(".")[0] : "ai-sdk");
  return {
    provider,
    async execute(request: unknown, toolOptions: Record<string, unknown> | undefined, ctx: ToolContext): Promise<ToolResult> {
      const call: Record<string, unknown> = { ...options.callOptions, prompt: toPrompt(request), abortSignal: ctx.signal };
      const maxOutputTokens = num(toolOptions?.maxOutputTokens) ?? num(toolOptions?.maxTokens) ?? options.maxOutputTokens;
      if (maxOutputTokens !== undefined) call.maxOutputTokens = maxOutputTokens;
      const temperature = num(toolOptions?.temperature) ?? options.temperature;
      if (temperature !== undefined) call.temperature = temperature;
      const tools = isObject(request) && Array.isArray(request.tools) ? (request.tools as RequestTool[]) : undefined;
      if (tools?.length) {
        call.tools = tools.map((t) => ({ type: "function", name: t.name, description: t.description, inputSchema: t.parameters ?? { type: "object" } }));
      }
      const toolChoice = isObject(request) ? request.toolChoice : undefined;
      if (toolChoice !== undefined) call.toolChoice = typeof toolChoice === "string" ? { type: toolChoice } : toolChoice;
      if (options.propagateTrace !== false) {
        call.headers = { ...(call.headers as object | undefined), traceparent: ctx.traceparent, "x-request-id": ctx.requestId };
      }
      const result = await model.doGenerate(call);
      const content = Array.isArray(result.content) ? (result.content as Part[]) : [];
      let text = content.filter((p) => p.type === "text").map((p) => String(p.text ?? "")).join("");
      if (content.length === 0 && typeof result.text === "string") text = result.text;
      const toolCalls = content
        .filter((p) => p.type === "tool-call")
        .map((p) => ({
          id: String(p.toolCallId ?? ""),
          name: String(p.toolName ?? ""),
          arguments: typeof p.input === "string" ? p.input : JSON.stringify(p.input ?? p.args ?? {}),
        }));
      const message: AssistantMessage = { text, toolCalls, refusal: null, finishReason: finishReasonOf(result.finishReason) };
      const usage = isObject(result.usage) ? result.usage : {};
      const input = tokens(usage.inputTokens) ?? 0;
      const outputTokens = tokens(usage.outputTokens) ?? 0;
      return {
        output: options.output === "message" ? message : text,
        usage: { promptTokens: input, completionTokens: outputTokens, totalTokens: num(usage.totalTokens) ?? input + outputTokens },
        message,
      } as ToolResult;
    },
  };
}

/** What `reliableModel` needs of an orchestrator: `run`, and `runStream` when it has one. */
export interface OrchestratorLike {
  run(request: unknown, options?: RunOptions): Promise<RunResult<unknown>>;
  runStream?(request: unknown, options?: RunOptions): AsyncIterable<{ text?: string }> & { result: Promise<RunResult<unknown>> };
}

/** Options of `reliableModel`. */
export interface ReliableModelOptions {
  /** The model id the AI SDK reports (default `"reliable-orchestrator"`). */
  modelId?: string;
  /** The provider name the AI SDK reports (default `"reliable-orchestrator"`). */
  provider?: string;
  /** Run options for every call (toolName, budget, idempotencyKey, ...), or a function of the AI SDK call options. */
  runOptions?: RunOptions | ((callOptions: Record<string, unknown>) => RunOptions);
}

/** The parts of the AI SDK's `LanguageModelV2` that `reliableModel` returns (structural). */
export interface ReliableLanguageModel {
  readonly specificationVersion: "v2";
  readonly provider: string;
  readonly modelId: string;
  readonly supportedUrls: Record<string, RegExp[]>;
  doGenerate(options: Record<string, unknown>): Promise<any>;
  doStream(options: Record<string, unknown>): Promise<any>;
}

function flatten(content: unknown): unknown {
  // A message of text parts only becomes a string, which every tool (built-in ones included) reads.
  if (Array.isArray(content) && content.every((p) => isObject(p) && p.type === "text")) {
    return content.map((p) => String((p as Part).text ?? "")).join("");
  }
  return content;
}

/** An AI SDK prompt (and call options) as an orchestrator request `{ messages, system?, tools?, toolChoice? }`. */
function toRequest(options: Record<string, unknown>): Record<string, unknown> {
  const prompt = Array.isArray(options.prompt) ? (options.prompt as PromptMessage[]) : [];
  const system = prompt.filter((m) => m.role === "system").map((m) => String(flatten(m.content) ?? "")).join("\n");
  const messages = prompt
    .filter((m) => m.role !== "system")
    .map((m) => {
      const message: Record<string, unknown> = { role: m.role, content: flatten(m.content) };
      if (m.providerOptions !== undefined) message.providerOptions = m.providerOptions;
      return message;
    });
  const request: Record<string, unknown> = { messages };
  if (system !== "") request.system = system;
  const tools = Array.isArray(options.tools) ? (options.tools as Part[]).filter((t) => t.type === "function") : [];
  if (tools.length) request.tools = tools.map((t) => ({ name: t.name, description: t.description, parameters: t.inputSchema }));
  const choice = options.toolChoice as Part | undefined;
  if (choice) request.toolChoice = choice.type === "tool" ? { type: "tool", name: choice.toolName } : choice.type;
  return request;
}

const FINISH: Record<string, string> = {
  stop: "stop", end_turn: "stop", stop_sequence: "stop",
  length: "length", max_tokens: "length",
  tool_calls: "tool-calls", tool_use: "tool-calls", "tool-calls": "tool-calls", function_call: "tool-calls",
  content_filter: "content-filter", "content-filter": "content-filter", refusal: "content-filter",
  error: "error", other: "other", unknown: "unknown",
};

/** The assistant message of a run: `result.message` (built-in tools), an output shaped like one, or the output as text. */
function messageOf(result: RunResult<unknown>): AssistantMessage {
  const candidates = [(result as { message?: unknown }).message, result.output];
  for (const m of candidates) {
    if (isObject(m) && typeof m.text === "string" && Array.isArray(m.toolCalls)) return m as unknown as AssistantMessage;
  }
  const out = result.output;
  const text = typeof out === "string" ? out : out === null || out === undefined ? "" : JSON.stringify(out);
  return { text, toolCalls: [], refusal: null, finishReason: "stop" };
}

function resultParts(result: RunResult<unknown>) {
  const message = messageOf(result);
  const content: Part[] = [];
  if (message.text !== "") content.push({ type: "text", text: message.text });
  for (const call of message.toolCalls) {
    content.push({ type: "tool-call", toolCallId: call.id, toolName: call.name, input: call.arguments });
  }
  const finishReason = message.toolCalls.length && !FINISH[message.finishReason] ? "tool-calls" : (FINISH[message.finishReason] ?? "other");
  const usage = { inputTokens: result.usage.promptTokens, outputTokens: result.usage.completionTokens, totalTokens: result.usage.totalTokens };
  const providerMetadata = {
    reliableOrchestrator: {
      toolName: result.toolName, attempts: result.attempts, cached: result.cached, costUsd: result.costUsd,
      traceId: result.traceId, requestId: result.requestId,
    },
  };
  return { content, finishReason, usage, providerMetadata };
}

function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  const any = (AbortSignal as unknown as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any(present);
  const controller = new AbortController();
  for (const s of present) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener("abort", () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

/**
 * An AI SDK language model (`LanguageModelV2`, which `ai` 5 and 6 accept) whose calls go through
 * `orchestrator.run` (or `runStream`), so `generateText` / `streamText` get the orchestrator's
 * planning, retries, breakers, fallbacks, budgets and idempotency. The AI SDK prompt becomes the
 * request `{ messages, system? }` (messages of text parts only have string content); the AI
 * SDK's `maxOutputTokens` and `temperature` become `toolOptions.maxTokens` / `temperature`, its
 * `abortSignal` the run's `signal`. Failures reject with the orchestrator's errors, which the AI
 * SDK does not retry (set `maxRetries: 0` anyway to make that explicit).
 */
export function reliableModel(orchestrator: OrchestratorLike, options: ReliableModelOptions = {}): ReliableLanguageModel {
  const runOptionsFor = (call: Record<string, unknown>): RunOptions => {
    const base = typeof options.runOptions === "function" ? options.runOptions(call) : { ...options.runOptions };
    const toolOptions: Record<string, unknown> = {};
    if (typeof call.maxOutputTokens === "number") toolOptions.maxTokens = call.maxOutputTokens;
    if (typeof call.temperature === "number") toolOptions.temperature = call.temperature;
    const run: RunOptions = { ...base };
    if (Object.keys(toolOptions).length) run.toolOptions = { ...toolOptions, ...base.toolOptions };
    const signal = anySignal([base.signal, call.abortSignal as AbortSignal | undefined]);
    if (signal) run.signal = signal;
    return run;
  };
  const metadata = (result: RunResult<unknown>) => ({ id: result.requestId, modelId: result.toolName, timestamp: new Date() });

  return {
    specificationVersion: "v2",
    provider: options.provider ?? "reliable-orchestrator",
    modelId: options.modelId ?? "reliable-orchestrator",
    supportedUrls: {},

    async doGenerate(call) {
      const request = toRequest(call);
      const result = await orchestrator.run(request, runOptionsFor(call));
      return { ...resultParts(result), request: { body: request }, response: metadata(result), warnings: [] };
    },

    async doStream(call) {
      const request = toRequest(call);
      const runOptions = runOptionsFor(call);
      const id = "0";
      const finish = (controller: ReadableStreamDefaultController<Part>, result: RunResult<unknown>, streamedText: boolean) => {
        const { content, finishReason, usage, providerMetadata } = resultParts(result);
        controller.enqueue({ type: "response-metadata", ...metadata(result) });
        for (const part of content) {
          if (part.type === "text" && !streamedText) {
            controller.enqueue({ type: "text-start", id });
            controller.enqueue({ type: "text-delta", id, delta: part.text });
            controller.enqueue({ type: "text-end", id });
          } else if (part.type === "tool-call") {
            controller.enqueue(part);
          }
        }
        if (streamedText) controller.enqueue({ type: "text-end", id });
        controller.enqueue({ type: "finish", finishReason, usage, providerMetadata });
        controller.close();
      };

      if (typeof orchestrator.runStream !== "function") {
        // No streaming in this orchestrator: run whole, then emit the answer as one delta.
        const result = await orchestrator.run(request, runOptions);
        const stream = new ReadableStream<Part>({
          start(controller) {
            controller.enqueue({ type: "stream-start", warnings: [] });
            finish(controller, result, false);
          },
        });
        return { stream, request: { body: request } };
      }

      const source = orchestrator.runStream(request, runOptions);
      const iterator = source[Symbol.asyncIterator]();
      let started = false;
      const stream = new ReadableStream<Part>({
        start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
        },
        async pull(controller) {
          try {
            const next = await iterator.next();
            if (!next.done) {
              const delta = next.value?.text;
              if (typeof delta === "string" && delta !== "") {
                if (!started) controller.enqueue({ type: "text-start", id });
                started = true;
                controller.enqueue({ type: "text-delta", id, delta });
              }
              return;
            }
            finish(controller, await source.result, started);
          } catch (error) {
            controller.enqueue({ type: "error", error });
            controller.close();
          }
        },
        async cancel() {
          await iterator.return?.();
        },
      });
      return { stream, request: { body: request } };
    },
  };
}
