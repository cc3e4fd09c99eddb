//! Run options of ids alone, as the TypeScript driver read them (own data
//! properties of a plain object: `requestId`, `traceId`, `idempotencyKey`,
//! `signal`): checked here exactly as the general options path checks them,
//! without its parse.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::super::signal::JsSignal;
use super::super::WasmOrchestrator;
use super::table::Parsed;
use crate::orchestrator::RunOptions;

#[wasm_bindgen]
impl WasmOrchestrator {
    /// [`WasmOrchestrator::begin`] for options that hold only ids, a signal and an
    /// idempotency key, as the driver read them from `options` (own data
    /// properties: nothing of the object is read again here), checked exactly
    /// as `begin` checks them. `request_id` is the driver's own, as for `begin`.
    /// A keyed run goes to the Rust driver with these options.
    #[wasm_bindgen(js_name = beginIds)]
    #[expect(
        clippy::too_many_arguments,
        reason = "each option crosses as its own value: packing them costs more"
    )]
    pub fn begin_ids(
        &self,
        request: JsValue,
        options: JsValue,
        option_request_id: Option<String>,
        trace_id: Option<String>,
        idempotency_key: Option<String>,
        signal: JsValue,
        now: f64,
        request_id: Option<String>,
    ) -> f64 {
        let parsed = id_options(option_request_id, trace_id, idempotency_key, signal);
        let begun = self.begin_run(request, &options, parsed, now, request_id);
        self.started(begun, now)
    }
}

/// Run options of ids, a key and a signal, as the driver read them, checked
/// as [`super::super::convert::run_options_from_js`] checks them.
pub(super) fn id_options(
    request_id: Option<String>,
    trace_id: Option<String>,
    idempotency_key: Option<String>,
    signal: JsValue,
) -> Parsed {
    let options = RunOptions {
        request_id,
        trace_id,
        idempotency_key,
        ..RunOptions::default()
    };
    // The signal first, as the general path reads it first.
    let signal = if signal.is_undefined() || signal.is_null() {
        None
    } else {
        Some(JsSignal::from_js(signal)?)
    };
    options.validate_ids()?;
    Ok((options, signal))
}
