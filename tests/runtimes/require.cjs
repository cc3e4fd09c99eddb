// require() of the ESM-only package: works on Node >= 20.19 / 22.12, ERR_REQUIRE_ESM before.
try {
  const ro = require("reliable-orchestrator");
  console.log(typeof ro.ReliableOrchestrator);
} catch (e) {
  console.log(e.code);
}
