//! What one run carries through its steps: ids, spending, its abort
//! signal and deadline, and the way to report events.

use std::cell::RefCell;
use std::rc::Rc;

use super::Inner;
use crate::error::OrchestratorError;
use crate::event::{Event, EventKind};
use crate::payload::Payload;
use crate::platform::AbortReason;
use crate::platform::{AbortSignal, Validator};
use crate::reliability::{BreakerTransition, Exceeded, Spend};
use crate::trace::TraceIds;

/// The deadline a run must finish by (monotonic ms) and what passing it means.
#[derive(Clone, Copy, Debug)]
pub(super) struct Deadline {
    pub at: f64,
    pub reason: AbortReason,
}

pub(super) struct RunContext<V: Payload> {
    pub inner: Rc<Inner<V>>,
    pub ids: TraceIds,
    pub spend: RefCell<Spend>,
    pub signal: AbortSignal,
    pub deadline: Option<Deadline>,
    pub timeout_ms: Option<f64>,
    pub attempt_timeout_ms: Option<f64>,
    /// Set for a streaming run.
    pub stream: Option<Rc<super::streaming::StreamRun>>,
    pub validate: Option<Rc<dyn Validator<V>>>,
}

impl<V: Payload> RunContext<V> {
    pub fn now(&self) -> f64 {
        self.inner.platform.clock.now_ms()
    }

    /// Reports an event, building it only when someone listens.
    pub fn emit(&self, kind: impl FnOnce() -> EventKind) {
        if let Some(sink) = &self.inner.events {
            sink.emit(&Event {
                at: self.inner.platform.clock.wall_ms(),
                trace_id: Some(self.ids.trace_id.clone()),
                request_id: Some(self.ids.request_id.clone()),
                kind: kind(),
            });
        }
    }

    pub fn emit_breaker(&self, transition: Option<BreakerTransition>) {
        if let Some(t) = transition {
            self.emit(|| breaker_event(&t));
        }
    }

    /// The error a run reports when its signal aborted for `reason`.
    pub fn stop_error(&self, reason: AbortReason) -> OrchestratorError {
        match reason {
            AbortReason::Deadline => OrchestratorError::Timeout {
                timeout_ms: self.timeout_ms.unwrap_or(0.0),
            },
            AbortReason::TimeBudget => {
                let exceeded = self.spend.borrow().time_used(self.now());
                self.budget_error(exceeded)
            }
            AbortReason::Aborted | AbortReason::AttemptTimeout | AbortReason::Superseded => OrchestratorError::Aborted,
        }
    }

    /// Reports a budget stop and builds its error.
    pub fn budget_error(&self, exceeded: Exceeded) -> OrchestratorError {
        self.emit(|| EventKind::Budget {
            budget_type: exceeded.budget_type.as_str().into(),
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

    /// Whether a wait of `delay_ms` from now would end past the deadline.
    pub fn wait_passes_deadline(&self, delay_ms: f64) -> Option<Deadline> {
        self.deadline.filter(|d| self.now() + delay_ms >= d.at)
    }
}

/// A breaker transition as an event.
pub(super) fn breaker_event(t: &BreakerTransition) -> EventKind {
    EventKind::Breaker {
        provider: t.provider.clone(),
        from: Some(t.transition.from.as_str().into()),
        to: Some(t.transition.to.as_str().into()),
        reason: Some(t.transition.reason.into()),
        message: None,
    }
}
