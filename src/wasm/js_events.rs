//! Events to the `onEvent` callback. Built only when one is given; a
//! throwing listener never breaks a run.

use js_sys::Function;

use crate::model::event::{Event, EventSink};

/// An `onEvent` listener.
pub struct JsEvents {
    listener: Function,
}

impl JsEvents {
    /// Wraps the listener.
    pub fn new(listener: Function) -> Self {
        Self { listener }
    }
}

impl EventSink for JsEvents {
    fn emit(&self, event: &Event) {
        // One `JSON.parse` of the event, rather than a property set from wasm per field.
        let value = super::convert::json_object(event);
        // Whatever the listener throws stays with it.
        let _ = self.listener.call1(&wasm_bindgen::JsValue::UNDEFINED, &value);
    }
}
