//! What the TypeScript driver reads of a run, when its action code says
//! there is something to read: a call's options and timeout, a wait, the
//! deadline, the signal, the ids, and what the last run to end left.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::super::convert;
use super::super::errors::error_to_js;
use super::super::js_value::from_json;
use super::super::{Returned, WasmOrchestrator};
use super::table::HostTool;
use crate::platform::AbortReason;
use crate::trace::TraceIds;

#[wasm_bindgen]
impl WasmOrchestrator {
    /// The current call's options (when its code says it has them).
    #[wasm_bindgen(js_name = toolOptions)]
    pub fn tool_options(&self, handle: u32) -> Returned {
        let mut driven = self.driven.borrow_mut();
        let Some(slot) = driven.slot(handle) else {
            return Ok(JsValue::UNDEFINED);
        };
        Ok(slot
            .entry()
            .and_then(|e| from_json(&e.options).ok())
            .unwrap_or(JsValue::UNDEFINED))
    }

    /// The current call's attempt timeout, ms.
    #[wasm_bindgen(js_name = callTimeout)]
    pub fn call_timeout(&self, handle: u32) -> f64 {
        let mut driven = self.driven.borrow_mut();
        let slot = driven.slot(handle);
        slot.and_then(|s| s.call.as_ref()?.timeout_ms).unwrap_or(0.0)
    }

    /// The wait the last `WAIT` asked for, ms.
    #[wasm_bindgen(js_name = waitMs)]
    pub fn wait_ms(&self, handle: u32) -> f64 {
        self.driven.borrow_mut().slot(handle).map_or(0.0, |s| s.wait_ms)
    }

    /// The run's deadline as (monotonic ms, reason code), or `NaN`.
    #[wasm_bindgen(js_name = deadlineAt)]
    pub fn deadline_at(&self, handle: u32) -> Vec<f64> {
        let mut driven = self.driven.borrow_mut();
        let deadline = driven.slot(handle).and_then(|s| s.machine.limits().deadline);
        match deadline {
            Some(d) => vec![d.at, if d.reason == AbortReason::TimeBudget { 3.0 } else { 2.0 }],
            None => Vec::new(),
        }
    }

    /// The caller's signal of a run begun with one (bit 20 of `begin`).
    pub fn signal(&self, handle: u32) -> Returned {
        let mut driven = self.driven.borrow_mut();
        Ok(driven
            .slot(handle)
            .and_then(|s| s.signal.clone())
            .unwrap_or(JsValue::UNDEFINED))
    }

    /// A run's ids when they came from its options: `traceId` and `requestId`
    /// joined by a newline (ids are visible ASCII: one string crosses, not an array).
    pub fn ids(&self, handle: u32) -> String {
        let mut driven = self.driven.borrow_mut();
        match driven.slot(handle).and_then(|s| s.ids.as_ref()) {
            Some(ids) => format!("{}\n{}", ids.trace_id, ids.request_id),
            None => String::new(),
        }
    }

    /// The tools by index: `[name, this, execute]` for a JS tool, `[name]` for
    /// a built-in one the driver sends, `null` for one it hands over.
    #[wasm_bindgen(js_name = hostTools)]
    pub fn host_tools(&self) -> Returned<js_sys::Array> {
        let driven = self.driven.borrow();
        let tools = driven
            .tools
            .iter()
            .map(|tool| match tool {
                Some(HostTool::Js(name, this, execute)) => {
                    JsValue::from(js_sys::Array::of3(&JsValue::from_str(name), this, execute))
                }
                Some(HostTool::Exchange(name, _)) => JsValue::from(js_sys::Array::of1(&JsValue::from_str(name))),
                None => JsValue::NULL,
            })
            .collect::<js_sys::Array>();
        Ok(tools)
    }

    /// The last run to end: tokens `i` (0 prompt, 1 completion, 2 total).
    #[wasm_bindgen(js_name = lastTokens)]
    pub fn last_tokens(&self, i: u32) -> f64 {
        let usage = self.driven.borrow().last.usage;
        let n = match i {
            0 => usage.prompt_tokens,
            1 => usage.completion_tokens,
            _ => usage.total_tokens,
        };
        n as f64
    }

    /// The last run to end: its cost, `NaN` for none.
    #[wasm_bindgen(js_name = lastCost)]
    pub fn last_cost(&self) -> f64 {
        self.driven.borrow().last.cost_usd.unwrap_or(f64::NAN)
    }

    /// The last run to end: the tool's message.
    #[wasm_bindgen(js_name = lastMessage)]
    pub fn last_message(&self) -> Returned {
        let message = self.driven.borrow_mut().last.message.take();
        Ok(message.as_ref().map_or(JsValue::NULL, convert::json_to_js))
    }

    /// The last run to fail (or not begin): its error as a plain object.
    #[wasm_bindgen(js_name = lastError)]
    pub fn last_error(&self) -> Returned {
        let error = self.driven.borrow_mut().last.error.take();
        Ok(error.map_or(JsValue::UNDEFINED, |e| error_to_js(&e).into()))
    }

    /// A `traceparent` for a call of the run with trace id `trace_id`.
    #[wasm_bindgen(js_name = traceparentFor)]
    pub fn traceparent_for(&self, trace_id: &str) -> String {
        let random = self.inner.platform().random.as_ref();
        TraceIds::resolve(Some(trace_id), Some(""), None, random).traceparent(random)
    }

    /// Whether `onEvent` is set (the driver then passes request ids in).
    pub fn listening(&self) -> bool {
        self.inner.listening()
    }
}
