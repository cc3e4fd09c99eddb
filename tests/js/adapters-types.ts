// Compile-only (scripts/test-js.sh, tsc --strict): the adapters' structural types meet the real
// packages' types: reliableModel is an `ai` LanguageModel, aiSdkTool takes an @ai-sdk model,
// otelListener takes an @opentelemetry/api Tracer and is an onEvent listener.
import { generateText, streamText, type LanguageModel } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { trace } from "@opentelemetry/api";
import { ReliableOrchestrator, reliableModel, aiSdkTool, otelListener } from "reliable-orchestrator";

const tools = {
  gpt: aiSdkTool(createOpenAI({ apiKey: "k" }).chat("gpt-4o-mini")),
  claude: aiSdkTool(createAnthropic({ apiKey: "k" })("claude-3-5-haiku-latest"), { output: "message" }),
};
const listener = otelListener(trace.getTracer("app"), { tools });
const orchestrator = new ReliableOrchestrator({ tools, defaultTools: ["gpt", "claude"], onEvent: listener });
const model: LanguageModel = reliableModel(orchestrator, { runOptions: { budget: { tokens: 1000 } } });

export async function answer(prompt: string): Promise<string> {
  const r = await listener.wrap(generateText({ model, prompt, maxRetries: 0 }));
  return r.text;
}

export function stream(prompt: string) {
  return streamText({ model: reliableModel(orchestrator, { runOptions: (call) => ({ idempotencyKey: String(call.prompt) }) }), prompt });
}
