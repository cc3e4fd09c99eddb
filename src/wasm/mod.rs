//! The WebAssembly face of the core: converts, never decides.
//!
//! `WasmOrchestrator` is what the JS wrapper (`js/index.ts`) drives:
//! `run(request, options)` returns a promise that resolves with a result
//! object or rejects with a plain error object the wrapper turns into its
//! `Error` subclass. Nothing here panics: every JS call is caught, every
//! conversion returns a typed error.

mod builtin_tools;
mod convert;
mod driver;
mod errors;
mod fetch;
mod guard;
mod host;
mod js_events;
mod js_kv;
mod js_results;
mod js_stream;
mod js_tool;
mod js_validator;
mod js_value;
mod names;
mod promises;
mod pull;
mod signal;

use futures::FutureExt;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

pub use js_value::JsPayload;

/// What an export hands JS: always `Ok`, a `Result` only so that wasm-bindgen returns it as
/// several wasm results rather than one `externref`. V8 11.3 (Node 20) inlines a call of
/// a wasm export that returns a single `externref` into optimised JS; when that call runs JS
/// that invalidates the caller's code (a field's type changing), the deopt on its return hits
/// `UNREACHABLE` in `Deoptimizer::DoComputeBuiltinContinuation` and the process aborts
/// (`tests/js/load.test.mjs` did, about one run in ten). Calls with several results are never
/// inlined. `tests/js/exports.test.mjs` checks that no export returns a lone `externref`.
pub type Returned<T = JsValue> = Result<T, JsValue>;

use crate::orchestrator::Orchestrator;
use crate::platform::{AbortSignal, ChunkSink};
use signal::SignalBridge;

/// The orchestrator as exported to JS.
#[wasm_bindgen]
pub struct WasmOrchestrator {
    inner: Orchestrator<JsPayload>,
    /// The runs the TypeScript driver performs.
    driven: std::cell::RefCell<driver::Driven>,
    /// How it plans them (outside the table: planning runs user code).
    plans: driver::Plans,
}

#[wasm_bindgen]
impl WasmOrchestrator {
    /// Builds an orchestrator from `{ planner, tools, defaultTools, reliability, store, onEvent }`.
    ///
    /// # Errors
    /// A plain error object (`code: "invalid_config"`, `field`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: JsValue,
        make_context: Option<js_sys::Function>,
        abort_context: Option<js_sys::Function>,
        event_emitter: Option<js_sys::Function>,
        make_result: Option<js_sys::Function>,
    ) -> Result<WasmOrchestrator, JsValue> {
        if let (Some(make), Some(abort)) = (make_context, abort_context) {
            js_tool::use_context_factory(make, abort);
        }
        if let Some(factory) = event_emitter {
            js_events::use_emitter_factory(factory);
        }
        if let Some(maker) = make_result {
            js_results::use_result_maker(maker);
        }
        convert::orchestrator_from_js(&config)
            .map(|(inner, tools, store)| {
                let driven = driver::Driven::new(&inner, tools, store);
                WasmOrchestrator {
                    plans: driver::Plans::of(&driven),
                    driven: std::cell::RefCell::new(driven),
                    inner,
                }
            })
            .map_err(|e| errors::error_to_js(&e).into())
    }

    /// Plans and runs `request`; resolves with the result object.
    pub fn run(&self, request: JsValue, options: JsValue) -> Returned<js_sys::Promise> {
        Ok(self.spawn(request, options, None))
    }

    /// Plans and runs `request` as a stream: `onChunk(text)` gets each piece
    /// of the answer as it arrives; resolves with the result (`output` the
    /// whole text).
    #[wasm_bindgen(js_name = runStream)]
    pub fn run_stream(
        &self,
        request: JsValue,
        options: JsValue,
        on_chunk: js_sys::Function,
    ) -> Returned<js_sys::Promise> {
        Ok(self.spawn(request, options, Some(on_chunk)))
    }
}

impl WasmOrchestrator {
    fn spawn(&self, request: JsValue, options: JsValue, on_chunk: Option<js_sys::Function>) -> js_sys::Promise {
        let orchestrator = self.inner.clone();
        // A run the TypeScript driver handed over: `begin` has read its options already.
        let (handed, prefetched) = match &on_chunk {
            None => self.driven.borrow_mut().take_handed(&options).unzip(),
            Some(_) => (None, None),
        };
        let prefetched = prefetched.flatten();
        wasm_bindgen_futures::future_to_promise(async move {
            let parsed = handed.unwrap_or_else(|| convert::run_options_from_js(&options));
            let (mut options, js_signal) = match parsed {
                Ok(parsed) => parsed,
                Err(e) => return Err(errors::error_to_js(&e).into()),
            };
            // A core signal only for a caller's signal: a run without one, a deadline or a
            // stream cannot be aborted, and its calls' `fetch` need not be cancellable.
            let signal = js_signal.as_ref().map(|_| AbortSignal::new());
            let _bridge = js_signal
                .clone()
                .zip(signal.clone())
                .and_then(|(target, signal)| SignalBridge::new(target, &signal));
            options.signal = signal;
            options.chunks = on_chunk.map(|f| std::rc::Rc::new(JsChunks(f)) as std::rc::Rc<dyn ChunkSink>);
            let run = match prefetched {
                Some(prefetched) => orchestrator
                    .run_prefetched(JsPayload(request), options, prefetched)
                    .boxed_local(),
                None => orchestrator.run(JsPayload(request), options).boxed_local(),
            };
            match run.await {
                Ok(result) => Ok(convert::result_to_js(result)),
                Err(error) => Err(errors::run_error_to_js(error, js_signal.map(|s| s.reason()))),
            }
        })
    }
}

/// A streaming run's `onChunk` callback (whatever it throws stays with it).
struct JsChunks(js_sys::Function);

impl ChunkSink for JsChunks {
    fn chunk(&self, text: &str) {
        let _ = self.0.call1(&JsValue::UNDEFINED, &JsValue::from_str(text));
    }
}

#[wasm_bindgen]
impl WasmOrchestrator {
    /// Every provider's breaker: `{ [provider]: { state, failures, ... } }`.
    #[wasm_bindgen(js_name = circuitStates)]
    pub fn circuit_states(&self) -> Returned {
        Ok(convert::json_object(&self.inner.circuit_states()))
    }

    /// A dry run of planning: the tools the rules pick for `request`, in
    /// order, defaults last, before breakers are considered.
    ///
    /// # Errors
    /// A plain error object (`no_tool`).
    pub fn plan(&self, request: JsValue) -> Result<Vec<String>, JsValue> {
        self.inner
            .plan(&JsPayload(request))
            .map_err(|e| errors::error_to_js(&e).into())
    }

    /// Keyed executions under way in this isolate (bounded by the keys in use).
    #[wasm_bindgen(js_name = inFlight)]
    pub fn in_flight(&self) -> u32 {
        u32::try_from(self.inner.in_flight()).unwrap_or(u32::MAX)
    }

    /// Breaker state as a plain object with wall-clock times.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> Returned {
        Ok(convert::json_to_js(&self.inner.export_state()))
    }

    /// Restores exported breaker state; what cannot be used is reported as
    /// a `breaker` event with reason `import_ignored`.
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(&self, state: JsValue) {
        // Unreadable state (a throwing getter, a cycle) is ignored like any other.
        let json = js_value::to_json(&state).unwrap_or(serde_json::Value::Null);
        self.inner.import_state(&json);
    }
}
