const { ReliableOrchestrator } = await import(process.env.PKG ?? "reliable-orchestrator");
const noop = async (request) => ({ output: request });
const reliability = { retryPolicy: { maxAttempts: 3, initialDelay: 1, maxDelay: 30, backoffFactor: 2 }, circuitBreakers: { default: { failureThreshold: 5, timeout: 60 } } };
const plain = new ReliableOrchestrator({ tools: { noop: { provider: "p", execute: noop } }, defaultTools: ["noop"], reliability });
const request = { query: "hello" };
for (let i = 0; i < 3e6; i++) await plain.run(request);
