//! What a run reports: the one mapping from a stop reason or a spent budget
//! to the error (and the `budget` event) the caller sees, and breaker
//! transitions as events.

use crate::model::error::OrchestratorError;
use crate::model::event::EventKind;
use crate::platform::AbortReason;
use crate::reliability::{BreakerTransition, Exceeded, Spend};

/// The deadline a run must finish by (monotonic ms) and what passing it means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Deadline {
    /// Monotonic time, ms.
    pub at: f64,
    /// `Deadline` (`timeoutMs`) or `TimeBudget` (`budget.timeMs`).
    pub reason: AbortReason,
}

/// The error a budget stop reports; its `budget` event goes to `emit`.
pub fn budget_error(exceeded: Exceeded, emit: &mut dyn FnMut(EventKind)) -> OrchestratorError {
    emit(EventKind::Budget {
        budget_type: exceeded.budget_type,
        limit: exceeded.limit,
        spent: exceeded.spent,
        requested: exceeded.requested,
    });
    OrchestratorError::BudgetExceeded {
        budget_type: exceeded.budget_type,
        limit: exceeded.limit,
        spent: exceeded.spent,
        requested: exceeded.requested,
    }
}

/// The error a run reports when it stopped for `reason` at `now`.
pub fn stop_error(
    reason: AbortReason,
    timeout_ms: Option<f64>,
    spend: &Spend,
    now: f64,
    emit: &mut dyn FnMut(EventKind),
) -> OrchestratorError {
    match reason {
        AbortReason::Deadline => OrchestratorError::Timeout {
            timeout_ms: timeout_ms.unwrap_or(0.0),
        },
        AbortReason::TimeBudget => budget_error(spend.time_used(now), emit),
        AbortReason::Aborted | AbortReason::AttemptTimeout | AbortReason::Superseded => OrchestratorError::Aborted,
    }
}

/// A breaker transition as an event.
pub fn breaker_event(t: &BreakerTransition) -> EventKind {
    EventKind::Breaker {
        provider: t.provider.clone(),
        from: Some(t.transition.from.as_str().into()),
        to: Some(t.transition.to.as_str().into()),
        reason: Some(t.transition.reason.into()),
        message: None,
    }
}
