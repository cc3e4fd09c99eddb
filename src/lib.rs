//! # reliable-orchestrator
//!
//! What LLM apps need around every model call, as a pure Rust core that
//! compiles to WebAssembly: rule-based tool planning, retries with capped
//! backoff that honour `Retry-After`, per-provider circuit breakers,
//! budgets, timeouts, trace propagation, and idempotency over a key-value
//! store the host supplies.
//!
//! The core is single-threaded and platform independent: it reaches time,
//! randomness, storage, tools and HTTP only through the traits in
//! [`platform`], so the same code runs in a Worker, a browser, Node, or a
//! test on a [`testing::VirtualClock`].
//!
//! ```
//! use std::rc::Rc;
//! use serde_json::json;
//! use reliable_orchestrator::{Orchestrator, OrchestratorConfig, RunOptions};
//! use reliable_orchestrator::testing::{virtual_platform, ScriptedTool, VirtualClock};
//!
//! let clock = VirtualClock::new(1_700_000_000_000.0);
//! let config = OrchestratorConfig::from_json(&json!({
//!     "planner": { "rules": [
//!         { "keywords": ["deep"], "toolName": "deep_analysis", "priority": 20 }
//!     ]},
//!     "defaultTools": ["quick"],
//! })).unwrap();
//! let orchestrator = Orchestrator::builder(virtual_platform(&clock, 1))
//!     .config(config)
//!     .tool("deep_analysis", Rc::new(ScriptedTool::new("openai", &clock)))
//!     .tool("quick", Rc::new(ScriptedTool::new("anthropic", &clock)))
//!     .build()
//!     .unwrap();
//! let run = orchestrator.run(json!("a deep question"), RunOptions::default());
//! let result = clock.run(run).unwrap().unwrap();
//! assert_eq!(result.tool_name, "deep_analysis");
//! ```

pub mod model;
pub mod orchestrator;
pub mod planning;
pub mod platform;
pub mod reliability;
pub mod run;
pub mod testing;
pub mod tools;
pub mod trace;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use model::{config, error, event, payload};

pub use error::{ConflictReason, OrchestratorError, RunError, ToolError, ToolErrorCategory};
pub use event::{Event, EventKind, EventSink, IdempotencyOutcome};
pub use orchestrator::{
    Orchestrator, OrchestratorBuilder, OrchestratorConfig, ReliabilityConfig, RunOptions, RunResult, StoreFailurePolicy,
};
pub use payload::Payload;
pub use platform::{
    AbortReason, AbortSignal, Chunk, ChunkSink, ChunkStream, Clock, InterruptReason, KvStore, MemoryKv, OnInterrupt,
    Platform, Random, Sleeper, StoreError, TokenFit, Tool, ToolContext, ToolEstimate, ToolOutput, Usage, Validator,
};
pub use reliability::{BreakerConfig, Budget, BudgetType, CircuitSnapshot, CircuitState, RetryConfig, RetryHint};
