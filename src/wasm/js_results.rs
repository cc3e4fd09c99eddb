//! Run results built in JS. A result crossed as one `JSON.parse` of its
//! fields (then its output set on it), about 1.5 µs on Node 20; the package's
//! `makeResult` (`js/literals.ts`) builds the same object as a literal from
//! its fields as arguments. Until an orchestrator of the package registers it
//! (the bindings used directly), results cross as JSON: the same object.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::js_value::JsPayload;
use crate::orchestrator::RunResult;

#[wasm_bindgen]
extern "C" {
    /// `makeResult(output, toolName, attempts, cached, promptTokens,
    /// completionTokens, totalTokens, costUsd, message, traceId, requestId,
    /// elapsedMs, finishReason)`, the message as JSON text.
    type ResultMaker;

    #[wasm_bindgen(method, catch, js_name = call)]
    fn make(
        this: &ResultMaker,
        this_arg: &JsValue,
        output: &JsValue,
        tool_name: &str,
        attempts: u32,
        cached: bool,
        prompt_tokens: f64,
        completion_tokens: f64,
        total_tokens: f64,
        cost_usd: Option<f64>,
        message: Option<String>,
        trace_id: &str,
        request_id: &str,
        elapsed_ms: f64,
        finish_reason: Option<&str>,
    ) -> Result<JsValue, JsValue>;
}

thread_local! {
    static MAKER: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers `makeResult`.
pub fn use_result_maker(maker: Function) {
    MAKER.with(|m| *m.borrow_mut() = Some(maker));
}

/// `result` as the JS object users get, built by `makeResult`; `None`
/// without one (or if it failed: an engine error), for the JSON path.
pub fn built(result: &RunResult<JsPayload>) -> Option<JsValue> {
    // Cloned out: nothing is borrowed while JS runs.
    let maker: ResultMaker = MAKER.with(|m| m.borrow().clone())?.unchecked_into();
    let usage = &result.usage;
    #[expect(
        clippy::cast_precision_loss,
        reason = "exact below 2^53; above, the nearest double, as JSON gives"
    )]
    let tokens = [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens].map(|t| t as f64);
    maker
        .make(
            &JsValue::UNDEFINED,
            &result.output.0,
            &result.tool_name,
            result.attempts,
            result.cached,
            tokens[0],
            tokens[1],
            tokens[2],
            result.cost_usd,
            result.message.as_ref().map(crate::model::json::text),
            &result.trace_id,
            &result.request_id,
            result.elapsed_ms,
            result.finish_reason.as_deref(),
        )
        .ok()
}
