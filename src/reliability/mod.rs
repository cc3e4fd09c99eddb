//! Reliability: how a run survives failing providers.
//!
//! In a run the pieces meet like this: the [`budget`] is checked before
//! each call; the provider's [`circuit_breaker`] admits the call or sends
//! the plan to its next tool; a failed call is classified once (in
//! [`ToolError`](crate::ToolError)) and the [`retry`] policy turns it into
//! a wait (from [`backoff`] or a [`retry_after`] hint), a fallback, or the
//! end of the run; [`timeout`] races every call and wait against the run's
//! deadline and abort signal; [`idempotency`] wraps the whole run so a
//! keyed request executes once.

pub mod backoff;
pub use crate::model::budget;
pub mod circuit_breaker;
pub mod idempotency;
pub mod retry;
pub use crate::model::retry_after;
pub mod timeout;

pub use crate::model::reasons::GiveUp;
pub use budget::{Budget, BudgetType, Exceeded, Spend};
pub use circuit_breaker::{
    BreakerConfig, BreakerConfigs, BreakerRegistry, BreakerTransition, CircuitBreaker, CircuitSnapshot, CircuitState,
    ImportIgnored, Permit, Transition,
};
pub use retry::{RetryConfig, RetryDecision, RetryPolicy};
pub use retry_after::RetryHint;
