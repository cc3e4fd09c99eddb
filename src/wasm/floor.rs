//! The floor of any wasm-bindgen orchestrator, for the benchmarks: an export
//! that only calls a JS tool and returns its promise's value through
//! `future_to_promise` and `JsFuture`. `run()` is measured against it.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Calls `execute(request)` and resolves with what its promise resolves to.
#[wasm_bindgen(js_name = benchFloor)]
pub fn bench_floor(execute: Function, request: JsValue) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let returned = execute.call1(&JsValue::UNDEFINED, &request)?;
        let promise: Promise = returned.dyn_into()?;
        JsFuture::from(promise).await
    })
}
