// The monitor page, live: the mock provider and this Worker in workerd, listening on
// 127.0.0.1, until you stop it (Ctrl-C) or `--for-ms` passes. Run with `make monitor`.
import { startMockProvider, startWorker } from "./test/harness.mjs";

const arg = process.argv.indexOf("--for-ms");
const forMs = arg > 0 ? Number(process.argv[arg + 1]) : 30 * 60_000;
const mock = await startMockProvider({ idleMs: forMs });
const worker = await startWorker(mock.url, { BREAKER_TIMEOUT_S: "5", MOCK_CONTROL_URL: mock.url }, { listen: true });
console.log(`monitor: ${worker.url}/   (mock provider ${mock.url}; stops in ${Math.round(forMs / 60_000)} min or on Ctrl-C)`);
const stop = async () => {
  await worker.close();
  await mock.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
setTimeout(stop, forMs);
