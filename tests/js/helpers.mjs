// Shared by the node --test suites (not a suite itself: node --test runs only *.test.mjs).
import { before, after, beforeEach } from "node:test";

const { startMockProvider } = await import(`${process.env.RO_ROOT}/mock-provider/server.mjs`);

/** A mock provider of this file's own, started before its tests and reset before each. */
export function ownMock() {
  let mock;
  before(async () => { mock = await startMockProvider({ idleMs: 60_000 }); });
  after(async () => { await mock?.close(); });
  beforeEach(() => mock.reset());
  return {
    get url() { return mock.url; },
    fault: (f) => mock.fault(f),
    log: () => mock.log(),
    reset: () => mock.reset(),
    configure: (c) => mock.configure(c),
  };
}

/** Reads a `RunStream` to its end: its chunks' text, and the error it ended with, if any. */
export async function collect(stream) {
  const chunks = [];
  let error;
  try {
    for await (const c of stream) chunks.push(c.text);
  } catch (e) {
    error = e;
  }
  return { chunks, error, text: chunks.join("") };
}
