//! A built-in tool's call performed by the TypeScript driver: the tool
//! builds its HTTP request here, the driver awaits `fetch` and the body in
//! the host's own event loop, and the tool reads the answer here. The Rust
//! driver's futures (a closure, an `AbortController` and promise hops per
//! call) are not involved; the request and its reading are the tool's own
//! ([`Exchanging`](crate::platform::Exchanging)), as `execute` uses them.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::super::fetch;
use super::super::js_value::JsPayload;
use super::super::WasmOrchestrator;
use super::failed;
use super::table::{pack, HostTool, FAIL};
use crate::platform::{AbortSignal, HttpError, HttpResponse, ToolContext};
use crate::trace::TraceIds;

impl WasmOrchestrator {
    /// The current call's tool context and exchange tool, read under a short borrow.
    fn exchange_call(&self, handle: u32, trace_id: &str, request_id: &str) -> Option<(ExchangeCall, ToolContext)> {
        let mut driven = self.driven.borrow_mut();
        let slot = driven.slot(handle)?;
        let call = slot.call.as_ref()?;
        let entry = slot.candidates.get(call.step)?;
        let index = slot.machine.steps().get(call.step)?.tool;
        let spend = slot.machine.spend().clone();
        let (attempt, options, tool_name) = (call.attempt, entry.options.clone(), entry.tool_name.clone());
        let Some(Some(HostTool::Exchange(_, tool))) = driven.tools.get(index) else {
            return None;
        };
        let random = self.inner.platform().random.as_ref();
        let ids = TraceIds::resolve(Some(trace_id), Some(request_id), None, random);
        let ctx = ToolContext {
            trace_id: ids.trace_id.clone(),
            request_id: ids.request_id.clone(),
            attempt,
            tool_name,
            traceparent: ids.traceparent(random),
            // Unused by an exchange: the driver's own signal goes to `fetch`.
            signal: AbortSignal::quiet(),
            spend,
            partial: None,
        };
        Some((
            ExchangeCall {
                tool: std::rc::Rc::clone(tool),
                options,
            },
            ctx,
        ))
    }

    /// Ends the call with `answer`, read by its tool: the action that follows.
    fn exchange_answered(&self, handle: u32, answer: Result<HttpResponse, HttpError>, now: f64) -> u32 {
        let read = self.driven.borrow_mut().slot(handle).and_then(|s| s.read.take());
        let Some(read) = read else {
            return pack(FAIL, 0, 0, 0);
        };
        match read(answer) {
            Ok(out) => {
                self.driven.borrow_mut().output = out.output.0;
                self.step(handle, |_, s| {
                    s.message = out.message;
                    s.machine.succeeded(now, out.usage, out.cost_usd)
                })
            }
            Err(error) => self.step(handle, |o, s| failed(o, s, now, error)),
        }
    }

    /// Ends the call with `error` before it was sent: the action that follows.
    fn exchange_refused(&self, handle: u32, error: crate::model::error::ToolError, now: f64) -> JsValue {
        JsValue::from(self.step(handle, |o, s| failed(o, s, now, error)))
    }
}

/// What a call of a built-in tool needs beyond its context.
struct ExchangeCall {
    tool: std::rc::Rc<dyn crate::platform::Tool<JsPayload>>,
    options: std::rc::Rc<serde_json::Value>,
}

#[wasm_bindgen]
impl WasmOrchestrator {
    /// Sends the current call of a built-in tool (`[name]` in `hostTools`)
    /// with the host's `fetch`, made cancellable by `signal` when it is an
    /// `AbortSignal`: `fetch`'s promise, or the action that follows as a
    /// number when the request cannot be built or sent.
    pub fn exchange(
        &self,
        handle: u32,
        request: JsValue,
        trace_id: &str,
        request_id: &str,
        signal: JsValue,
        now: f64,
    ) -> JsValue {
        let Some((call, ctx)) = self.exchange_call(handle, trace_id, request_id) else {
            return JsValue::from(pack(FAIL, 0, 0, 0));
        };
        // The request is read (guarded, getters and all) with no borrow held.
        let Some(exchanging) = call.tool.exchanging() else {
            return JsValue::from(pack(FAIL, 0, 0, 0));
        };
        let exchange = exchanging.exchange(&JsPayload(request), &call.options, &ctx);
        let request = match exchange.request {
            Ok(request) => request,
            Err(error) => return self.exchange_refused(handle, error, now),
        };
        let signal = signal.is_object().then_some(&signal);
        let sent = fetch::start(&request, signal);
        match self.driven.borrow_mut().slot(handle) {
            Some(slot) => slot.read = Some(exchange.read),
            None => return JsValue::from(pack(FAIL, 0, 0, 0)),
        }
        match sent {
            Ok(promise) => promise,
            Err(error) => JsValue::from(self.exchange_answered(handle, Err(error), now)),
        }
    }

    /// Input: `fetch` resolved with `response`. Its status and headers are
    /// kept: `response.text()`'s promise, or the action that follows as a
    /// number when the body cannot be read.
    #[wasm_bindgen(js_name = exchangeHead)]
    pub fn exchange_head(&self, handle: u32, response: JsValue, now: f64) -> JsValue {
        let head = (fetch::status_of(&response), fetch::headers_of(&response));
        let text = fetch::text_of(&response);
        if let Some(slot) = self.driven.borrow_mut().slot(handle) {
            slot.head = Some(head);
        }
        match text {
            Ok(promise) => promise,
            Err(thrown) => JsValue::from(self.exchange_answered(handle, Err(fetch::network(&thrown)), now)),
        }
    }

    /// Input: the body arrived: the tool reads the answer.
    pub fn exchanged(&self, handle: u32, body: JsValue, now: f64) -> u32 {
        let head = self.driven.borrow_mut().slot(handle).and_then(|s| s.head.take());
        let (status, headers) = head.unwrap_or_default();
        let body = fetch::body_text(&body);
        self.exchange_answered(handle, Ok(HttpResponse { status, headers, body }), now)
    }

    /// Input: `fetch` or the body read rejected with `thrown`.
    #[wasm_bindgen(js_name = exchangeFailed)]
    pub fn exchange_failed(&self, handle: u32, thrown: JsValue, now: f64) -> u32 {
        self.exchange_answered(handle, Err(fetch::network(&thrown)), now)
    }

    /// The output of the built-in call that answered last (taken once).
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&self) -> JsValue {
        std::mem::replace(&mut self.driven.borrow_mut().output, JsValue::UNDEFINED)
    }
}
