//! A run's JS `AbortSignal`, checked when the run starts and then only read
//! through guarded access: a fake (`Object.create(AbortSignal.prototype)`) or
//! a Proxy throws from its getters, which must not escape into wasm.

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

use super::guard::{self, describe};
use crate::model::error::OrchestratorError;
use crate::platform::{AbortReason, AbortSignal};

/// A usable JS `AbortSignal`.
#[derive(Clone)]
pub struct JsSignal {
    target: JsValue,
    add: Function,
    remove: Function,
}

impl JsSignal {
    /// Checks that `value` behaves as an `AbortSignal`: `aborted` reads as a
    /// boolean and it has `addEventListener` / `removeEventListener`.
    ///
    /// # Errors
    /// `invalid_request` naming `signal`.
    pub fn from_js(value: JsValue) -> Result<Self, OrchestratorError> {
        let bad = |why: String| OrchestratorError::request("signal", format!("must be an AbortSignal: {why}"));
        let aborted = guard::get(&value, "aborted").map_err(|e| bad(describe(&e)))?;
        if aborted.as_bool().is_none() {
            return Err(bad("it has no boolean `aborted`".into()));
        }
        let method = |name: &'static str| {
            guard::method(&value, name)
                .map_err(|e| bad(describe(&e)))?
                .ok_or_else(|| bad(format!("it has no `{name}`")))
        };
        Ok(Self {
            add: method("addEventListener")?,
            remove: method("removeEventListener")?,
            target: value,
        })
    }

    /// Whether it has fired (a getter that throws now counts as fired: the
    /// caller's signal is broken, so the run stops rather than run blind).
    pub fn aborted(&self) -> bool {
        guard::get(&self.target, "aborted").map_or(true, |a| a.as_bool().unwrap_or(true))
    }

    /// The signal object itself, for a driver that listens to it.
    pub fn target(&self) -> &JsValue {
        &self.target
    }

    /// Its `reason`, `undefined` when unreadable.
    pub fn reason(&self) -> JsValue {
        guard::get(&self.target, "reason").unwrap_or(JsValue::UNDEFINED)
    }
}

/// Forwards a JS `AbortSignal` to the run's signal until the run ends.
pub struct SignalBridge {
    signal: JsSignal,
    listener: Closure<dyn FnMut()>,
}

impl SignalBridge {
    /// Starts forwarding; `None` (and `core` aborted) when it has already fired.
    pub fn new(signal: JsSignal, core: &AbortSignal) -> Option<Self> {
        if signal.aborted() {
            core.abort(AbortReason::Aborted);
            return None;
        }
        let core = core.clone();
        let listener = Closure::<dyn FnMut()>::new(move || core.abort(AbortReason::Aborted));
        let args = [JsValue::from_str("abort"), listener.as_ref().clone()];
        if guard::call(&signal.add, &signal.target, &args).is_err() {
            return None;
        }
        Some(Self { signal, listener })
    }
}

impl Drop for SignalBridge {
    fn drop(&mut self) {
        let args = [JsValue::from_str("abort"), self.listener.as_ref().clone()];
        let _ = guard::call(&self.signal.remove, &self.signal.target, &args);
    }
}
