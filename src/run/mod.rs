//! The run machine: a run's decisions as a synchronous state machine.
//!
//! [`RunMachine`] takes inputs (start, a tool's outcome, a wait that ended,
//! an abort) with the time they happened and answers with the next
//! [`Action`] (call a tool, wait, finish). It never reads a clock, sleeps,
//! awaits or touches a host type; the drivers (the async Rust driver in
//! `orchestrator`, the TypeScript driver in `js/driver.ts` through
//! `wasm::driver`) only perform its actions and feed the outcomes back.
//! [`KeyClaim`] is the same for claiming an idempotency key: read, replay or
//! refuse, or write a lease with the strongest operation the store has; and
//! [`KeyRecord`] for recording the execution (the record, or the key freed).

mod action;
mod claim;
mod machine;
mod record;
mod report;

pub use action::{Action, Call, Failed, Limits, Policies, Step, Succeeded};
pub use claim::{Claim, KeyClaim, StoreCaps, Write};
pub use machine::RunMachine;
pub use record::{Executed, KeyRecord, RecordStep};
pub use report::{breaker_event, budget_error, stop_error, Deadline};
