//! Events to the `onEvent` callback. Built only when one is given; a
//! throwing listener never breaks a run.
//!
//! Every run reports a `plan` and an `attempt` event. Those two, in their
//! usual shape, are built in JS from a few arguments by the orchestrator's
//! emitter (`eventEmitter` in `js/context.ts`), which also keeps the ids of
//! the last event, so a run's ids cross once. A `JSON.parse` of an event cost
//! more than the rest of a plain run. Every other event crosses as JSON.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::guard;
use crate::model::event::{Event, EventKind, EventSink};

#[wasm_bindgen]
extern "C" {
    /// An orchestrator's emitter: `(at, traceId, requestId, kind, toolName,
    /// attempt, rule)`, an id `undefined` when it is the last event's.
    type Emitter;

    #[wasm_bindgen(method, catch, js_name = call)]
    fn emit(
        this: &Emitter,
        this_arg: &JsValue,
        at: f64,
        trace_id: Option<&str>,
        request_id: Option<&str>,
        kind: u32,
        tool_name: &str,
        attempt: u32,
        rule: Option<&str>,
    ) -> Result<(), JsValue>;
}

// The emitter's kinds (`js/context.ts` keeps the same constants).
const ATTEMPT: u32 = 1;
const PLAN: u32 = 2;
/// The request id is the trace id (the driver's own ids are one UUID).
const REQUEST_IS_TRACE: u32 = 4;

thread_local! {
    /// `eventEmitter`: makes an orchestrator's emitter for its listener.
    static EMITTERS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers `eventEmitter` (see the module's doc).
pub fn use_emitter_factory(factory: Function) {
    EMITTERS.with(|e| *e.borrow_mut() = Some(factory));
}

/// An `onEvent` listener.
pub struct JsEvents {
    listener: Function,
    emitter: Option<Emitter>,
    /// The ids the emitter holds (it was given them last); `None`: unknown.
    last: RefCell<Option<(String, String)>>,
}

impl JsEvents {
    /// Wraps the listener, with an emitter for it when the factory is registered.
    pub fn new(listener: Function) -> Self {
        let factory = EMITTERS.with(|e| e.borrow().clone());
        let emitter = factory
            .and_then(|f| guard::call(&f, &JsValue::UNDEFINED, &[listener.clone().into()]).ok())
            .and_then(|made| made.dyn_into::<Function>().ok())
            .map(JsCast::unchecked_into);
        Self {
            listener,
            emitter,
            last: RefCell::new(None),
        }
    }

    /// Gives `event` to the emitter when it is one of the shapes it builds:
    /// whether it did.
    fn emit_common(&self, emitter: &Emitter, event: &Event) -> bool {
        let (Some(trace), Some(request)) = (&event.trace_id, &event.request_id) else {
            return false;
        };
        let (kind, tool_name, attempt, rule) = match &event.kind {
            EventKind::Attempt {
                tool_name,
                attempt,
                fitted_max_tokens: None,
            } => (ATTEMPT, tool_name, *attempt, None),
            EventKind::Plan {
                tool_name,
                fallbacks,
                rule,
                skipped,
            } if fallbacks.is_empty() && skipped.is_empty() => (PLAN, tool_name, 0, rule.as_deref()),
            _ => return false,
        };
        // Not borrowed while the listener runs: it may start runs, whose events come here.
        let (trace_arg, request_arg, kind) = {
            let mut last = self.last.borrow_mut();
            let held = last.as_ref();
            let trace_arg = (held.map(|(t, _)| t) != Some(trace)).then_some(trace.as_str());
            let (request_arg, kind) = if request == trace {
                (None, kind | REQUEST_IS_TRACE)
            } else {
                (
                    (held.map(|(_, r)| r) != Some(request)).then_some(request.as_str()),
                    kind,
                )
            };
            // Kept anew only when they changed: a run's events mostly have the last ids.
            if trace_arg.is_some() || held.map(|(_, r)| r) != Some(request) {
                *last = Some((trace.clone(), request.clone()));
            }
            (trace_arg, request_arg, kind)
        };
        let sent = emitter.emit(
            &JsValue::UNDEFINED,
            event.at,
            trace_arg,
            request_arg,
            kind,
            tool_name,
            attempt,
            rule,
        );
        if sent.is_err() {
            // The emitter failed (an engine error such as a stack overflow: it catches what
            // the listener throws), before it took the ids for all we know: send them next
            // time. The event is lost, not sent again as JSON: the listener may have had it.
            *self.last.borrow_mut() = None;
        }
        true
    }
}

impl EventSink for JsEvents {
    fn emit(&self, event: &Event) {
        if let Some(emitter) = &self.emitter {
            if self.emit_common(emitter, event) {
                return;
            }
        }
        // One `JSON.parse` of the event, rather than a property set from wasm per field.
        let value = super::convert::json_object(event);
        // Whatever the listener throws stays with it.
        let _ = self.listener.call1(&wasm_bindgen::JsValue::UNDEFINED, &value);
    }
}
