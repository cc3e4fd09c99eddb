import { scenarios } from "/work/main/bench/scenarios.mjs";
import { startMockProvider } from "/work/main/mock-provider/server.mjs";
const mock = await startMockProvider();
console.log(JSON.stringify(await scenarios(mock), null, 1));
await mock.close();
