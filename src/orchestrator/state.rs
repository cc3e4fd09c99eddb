//! Breaker state as callers see it: snapshots, export and import (with the
//! import's outcome reported as `breaker` events outside any run).

use std::collections::BTreeMap;

use serde_json::Value;

use super::Orchestrator;
use crate::model::event::{Event, EventKind};
use crate::model::payload::Payload;
use crate::reliability::CircuitSnapshot;
use crate::run::breaker_event;

impl<V: Payload> Orchestrator<V> {
    /// Every provider's breaker, as a call now would meet it.
    pub fn circuit_states(&self) -> BTreeMap<String, CircuitSnapshot> {
        self.inner.breakers.states()
    }

    /// Breaker state as plain JSON with wall-clock times.
    pub fn export_state(&self) -> Value {
        self.inner.breakers.export()
    }

    /// Restores exported breaker state; entries it cannot use are reported
    /// as `breaker` events with reason `import_ignored`.
    pub fn import_state(&self, state: &Value) {
        let (transitions, ignored) = self.inner.breakers.import(state);
        let Some(sink) = &self.inner.events else {
            return;
        };
        let at = self.inner.platform.clock.wall_ms();
        let emit = |kind| {
            sink.emit(&Event {
                at,
                trace_id: None,
                request_id: None,
                kind,
            })
        };
        for t in &transitions {
            emit(breaker_event(t));
        }
        for entry in ignored {
            emit(EventKind::Breaker {
                provider: entry.provider,
                from: None,
                to: None,
                reason: Some("import_ignored".into()),
                message: Some(entry.message),
            });
        }
    }
}
