//! The run machine: a run's decisions as a synchronous state machine.
//!
//! [`RunMachine`] takes inputs (start, a tool's outcome, a wait that ended,
//! an abort) with the time they happened and answers with the next
//! [`Action`] (call a tool, wait, finish). It never reads a clock, sleeps,
//! awaits or touches a host type; the drivers (the async Rust driver in
//! `orchestrator`, the TypeScript driver in `js/driver.ts` through
//! `wasm::driver`) only perform its actions and feed the outcomes back.

mod machine;
mod stop;

pub use machine::{breaker_event, Action, Call, Failed, Limits, Policies, RunMachine, Step, Succeeded};
pub use stop::{budget_error, stop_error, Deadline};
