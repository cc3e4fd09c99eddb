//! A built-in tool's call performed by the TypeScript driver: the tool
//! builds its HTTP request here, the driver calls `fetch` and reads the
//! status, the retry hints and the body in JS (a call from wasm into the
//! host costs more than the JS it runs), and the tool reads the answer here. The Rust
//! driver's futures (a closure, an `AbortController` and promise hops per
//! call) are not involved; the request and its reading are the tool's own
//! ([`Exchanging`](crate::platform::Exchanging)), as `execute` uses them.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::super::fetch;
use super::super::js_value::JsPayload;
use super::super::{Returned, WasmOrchestrator};
use super::failed;
use super::table::{pack, HostTool, FAIL};
use crate::platform::{AbortSignal, HttpError, HttpRequest, HttpResponse, ToolContext};
use crate::tools::http_failure::HINT_HEADERS;
use crate::trace::TraceIds;

impl WasmOrchestrator {
    /// The current call's tool context and exchange tool, read under a short borrow.
    fn exchange_call(&self, handle: u32, ids: Option<(String, String)>) -> Option<(ExchangeCall, ToolContext)> {
        let mut driven = self.driven.borrow_mut();
        let random = self.inner.platform().random.as_ref();
        let (index, ctx, options) = {
            let slot = driven.slot(handle)?;
            let call = slot.call.as_ref()?;
            let entry = slot.candidates.get(call.step)?;
            // The run's own ids when it has them (they keep their W3C trace id), else the driver's.
            let made;
            let ids = match (&slot.ids, ids) {
                (Some(own), _) => own,
                (None, Some((trace_id, request_id))) => {
                    made = TraceIds::resolve(Some(&trace_id), Some(&request_id), None, random);
                    &made
                }
                (None, None) => return None,
            };
            let ctx = ToolContext {
                trace_id: ids.trace_id.clone(),
                request_id: ids.request_id.clone(),
                attempt: call.attempt,
                tool_name: entry.tool_name.clone(),
                traceparent: ids.traceparent(random),
                // Unused by an exchange: the driver's own signal goes to `fetch`.
                signal: AbortSignal::quiet(),
                spend: slot.machine.spend().clone(),
                partial: None,
            };
            (
                slot.machine.steps().get(call.step)?.tool,
                ctx,
                std::rc::Rc::clone(&entry.options),
            )
        };
        let Some(Some(HostTool::Exchange(_, tool))) = driven.tools.get(index) else {
            return None;
        };
        let tool = std::rc::Rc::clone(tool);
        Some((ExchangeCall { tool, options }, ctx))
    }

    /// Ends the call of run `serial` with `answer`, read by its tool: the
    /// action that follows (a stale input if `handle` holds another run now).
    fn exchange_answered(
        &self,
        handle: u32,
        serial: Option<u32>,
        answer: Result<HttpResponse, HttpError>,
        now: f64,
    ) -> u32 {
        let read = self
            .driven
            .borrow_mut()
            .slot(handle)
            .filter(|s| Some(s.serial) == serial)
            .and_then(|s| s.read.take());
        let Some(read) = read else {
            return pack(FAIL, 0, 0, 0);
        };
        match read(answer) {
            Ok(out) => {
                self.driven.borrow_mut().output = out.output.0;
                self.step_of(handle, serial, |_, s| {
                    s.message = out.message;
                    s.machine.succeeded(now, out.usage, out.cost_usd)
                })
            }
            Err(error) => self.step_of(handle, serial, |o, s| failed(o, s, now, error)),
        }
    }
}

/// What a call of a built-in tool needs beyond its context.
struct ExchangeCall {
    tool: std::rc::Rc<dyn crate::platform::Tool<JsPayload>>,
    options: std::rc::Rc<serde_json::Value>,
}

/// `[url, init]` of `request` as JSON: one string crosses, and `JSON.parse`
/// makes the driver its `fetch` arguments.
fn fetch_args(request: &HttpRequest) -> String {
    /// The headers as one JSON object (a name given twice: the last wins, as in `JSON.parse`).
    struct Headers<'a>(&'a [(String, String)]);
    impl serde::Serialize for Headers<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    #[derive(serde::Serialize)]
    struct Init<'a> {
        method: &'a str,
        headers: Headers<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<&'a str>,
    }
    let init = Init {
        method: &request.method,
        headers: Headers(&request.headers),
        body: request.body.as_deref(),
    };
    crate::model::json::text(&(&request.url, init))
}

#[wasm_bindgen]
impl WasmOrchestrator {
    /// Builds the current call of a built-in tool (`[name]` in `hostTools`):
    /// `[url, init]` for `fetch` as JSON, or the action that follows as a
    /// number when the request cannot be built. `ids` (trace id and request
    /// id, joined by a newline) are the driver's, for a run without ids of
    /// its own.
    pub fn exchange(&self, handle: u32, request: JsValue, ids: Option<String>, now: f64) -> Returned {
        let ids = ids.and_then(|ids| ids.split_once('\n').map(|(t, r)| (t.to_owned(), r.to_owned())));
        let serial = self.serial(handle);
        let Some((call, ctx)) = self.exchange_call(handle, ids) else {
            return Ok(JsValue::from(pack(FAIL, 0, 0, 0)));
        };
        let Some(exchanging) = call.tool.exchanging() else {
            return Ok(JsValue::from(pack(FAIL, 0, 0, 0)));
        };
        // The request is read (guarded, getters and all) with no borrow held.
        let exchange = exchanging.exchange(&JsPayload(request), &call.options, &ctx);
        let request = match exchange.request {
            Ok(request) => request,
            Err(error) => {
                return Ok(JsValue::from(
                    self.step_of(handle, serial, |o, s| failed(o, s, now, error)),
                ))
            }
        };
        // The request's getters may have ended this run (and begun another in its slot).
        match self
            .driven
            .borrow_mut()
            .slot(handle)
            .filter(|s| Some(s.serial) == serial)
        {
            Some(slot) => slot.read = Some(exchange.read),
            None => return Ok(JsValue::from(pack(FAIL, 0, 0, 0))),
        }
        Ok(JsValue::from(fetch_args(&request)))
    }

    /// Input: the response arrived: its status, the retry hints among its
    /// headers (`retry-after-ms`, `retry-after`: the only ones a failure
    /// reads) and its body. The tool reads the answer.
    pub fn exchanged(
        &self,
        handle: u32,
        status: f64,
        retry_after_ms: Option<String>,
        retry_after: Option<String>,
        body: String,
        now: f64,
    ) -> u32 {
        let [ms_name, seconds_name] = HINT_HEADERS;
        let headers = [(ms_name, retry_after_ms), (seconds_name, retry_after)]
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect();
        // Clamped as the Rust driver's `fetch` client clamps it (`NaN` is no status).
        let status = status.clamp(0.0, 999.0) as u16;
        let serial = self.serial(handle);
        self.exchange_answered(handle, serial, Ok(HttpResponse { status, headers, body }), now)
    }

    /// Input: `fetch` or the body's read threw or rejected with `thrown`.
    #[wasm_bindgen(js_name = exchangeFailed)]
    pub fn exchange_failed(&self, handle: u32, thrown: JsValue, now: f64) -> u32 {
        // Described (its getters run) before the call's reading is taken from the slot.
        let serial = self.serial(handle);
        let error = fetch::network(&thrown);
        self.exchange_answered(handle, serial, Err(error), now)
    }

    /// The output of the built-in call that answered last (taken once).
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&self) -> Returned {
        Ok(std::mem::replace(
            &mut self.driven.borrow_mut().output,
            JsValue::UNDEFINED,
        ))
    }
}
