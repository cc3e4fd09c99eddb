// Only the rules: `reliable-orchestrator/rules` must bring no wasm.
import { RuleBasedPlanner, rules, OrchestratorError } from "reliable-orchestrator/rules";

const planner = new RuleBasedPlanner([rules.keyword({ keywords: ["deep"], toolName: "deep" })]);
let invalid = "";
try {
  new RuleBasedPlanner("nope");
} catch (e) {
  invalid = e instanceof OrchestratorError ? e.code : "other";
}
const text = `rules=${planner.rules.length}; invalid=${invalid}`;
if (typeof document !== "undefined") document.getElementById("result").textContent = text;
else console.log(text);
