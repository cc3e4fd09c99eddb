// Light entry (`reliable-orchestrator/rules`): the planner's rules, the error classes and every
// type, in plain JavaScript with no wasm. For code that only writes or checks rules (a config
// module, a build step, a UI) and must not load or ship the WebAssembly module.
export { RuleBasedPlanner, rules } from "./rules.js";
export { OrchestratorError, ToolExecutionError, BudgetExceeded, ConflictError } from "./errors.js";
export type { ErrorCode, ToolErrorCategory, BudgetType, ConflictReason } from "./errors.js";
export type * from "./types.js";
