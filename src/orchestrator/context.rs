//! What one run carries through its steps: ids, spending, its abort
//! signal and deadline, and the way to report events.

use std::rc::Rc;

use super::Inner;
use crate::model::error::OrchestratorError;
use crate::model::event::{Event, EventKind};
use crate::model::payload::Payload;
use crate::platform::AbortReason;
use crate::platform::{AbortSignal, Validator};
use crate::reliability::{BreakerTransition, Exceeded, Spend};
use crate::run::{breaker_event, budget_error, stop_error, Limits};
use crate::trace::TraceIds;

pub(super) struct RunContext<V: Payload> {
    pub inner: Rc<Inner<V>>,
    pub ids: TraceIds,
    /// The budget as it stood when the run began (the machine keeps what is spent).
    pub spend: Spend,
    pub signal: AbortSignal,
    /// Whether anything can abort the run (a caller's signal, a deadline, a
    /// stream's cancel): otherwise a call without a timeout gets a quiet signal.
    pub abortable: bool,
    pub limits: Limits,
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

    /// Reports events the machine collected.
    pub fn emit_all(&self, events: Vec<EventKind>) {
        for kind in events {
            self.emit(|| kind);
        }
    }

    /// The error a run reports when its signal aborted for `reason`.
    pub fn stop_error(&self, reason: AbortReason) -> OrchestratorError {
        stop_error(reason, self.limits.timeout_ms, &self.spend, self.now(), &mut |e| {
            self.emit(|| e)
        })
    }

    /// Reports a budget stop and builds its error.
    pub fn budget_error(&self, exceeded: Exceeded) -> OrchestratorError {
        budget_error(exceeded, &mut |e| self.emit(|| e))
    }
}
