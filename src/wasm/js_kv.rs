//! A store implemented in JS: any `{ get, put, delete, putIfAbsent?, consistency? }`
//! whose methods return values or promises. Methods are looked up once.

use futures::future::LocalBoxFuture;
use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::errors::set;
use super::guard::{self, describe, settled_or_thrown};
use crate::model::error::OrchestratorError;
use crate::platform::{compare_and_swap_by_read, put_if_absent_by_read, KvStore, StoreError};

/// A JS key-value store.
pub struct JsStore {
    this: JsValue,
    get: Function,
    put: Function,
    delete: Function,
    put_if_absent: Option<Function>,
    compare_and_swap: Option<Function>,
}

/// `store[name]`: `None` when absent (`undefined` or `null`), a function, or
/// an error naming `store.<name>` (present but not a function, or throwing).
fn method(store: &JsValue, name: &'static str) -> Result<Option<Function>, OrchestratorError> {
    let field = || format!("store.{name}");
    let value = guard::get(store, name).map_err(|e| OrchestratorError::config(field(), describe(&e)))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_into::<Function>()
        .map(Some)
        .map_err(|_| OrchestratorError::config(field(), "must be a function"))
}

fn check_consistency(store: &JsValue) -> Result<(), OrchestratorError> {
    let field = "store.consistency";
    let value = guard::get(store, "consistency").map_err(|e| OrchestratorError::config(field, describe(&e)))?;
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    match value.as_string().as_deref() {
        Some("eventual" | "strong") => Ok(()),
        _ => Err(OrchestratorError::config(
            field,
            format!("must be \"strong\" or \"eventual\", got {}", describe(&value)),
        )),
    }
}

impl JsStore {
    /// Reads a store object (errors name `store.<method>`).
    ///
    /// # Errors
    /// `invalid_config` when a required method is missing, an optional one is
    /// there but not a function, or `consistency` is not a known word.
    pub fn from_js(store: &JsValue) -> Result<Self, OrchestratorError> {
        if !guard::is_object_like(store) {
            return Err(OrchestratorError::config(
                "store",
                "must be an object with get, put and delete",
            ));
        }
        // Checked for the caller's sake (a misspelt word is a config error); what once-only
        // execution needs from the store is `putIfAbsent` and `compareAndSwap`, not this word.
        check_consistency(store)?;
        let required = |name: &'static str| {
            method(store, name)?.ok_or_else(|| OrchestratorError::config(format!("store.{name}"), "must be a function"))
        };
        Ok(Self {
            this: store.clone(),
            get: required("get")?,
            put: required("put")?,
            delete: required("delete")?,
            put_if_absent: method(store, "putIfAbsent")?,
            compare_and_swap: method(store, "compareAndSwap")?,
        })
    }

    fn call(
        &self,
        operation: &'static str,
        f: &Function,
        args: &[JsValue],
    ) -> LocalBoxFuture<'static, Result<JsValue, StoreError>> {
        let fail = move |e: JsValue| failure(operation, &e);
        let called = guard::call(f, &self.this, args).map_err(fail);
        Box::pin(async move { settled_or_thrown(called?).await.map_err(fail) })
    }

    /// Calls `get(key)` for a driver that awaits the answer itself (then
    /// [`get_answer`] reads it): what it returned, or what it threw.
    ///
    /// # Errors
    /// What `get` threw.
    pub fn call_get(&self, key: &str) -> Result<JsValue, JsValue> {
        guard::call(&self.get, &self.this, &[JsValue::from_str(key)])
    }
}

/// A store operation that threw or rejected with `thrown`.
pub fn failure(operation: &'static str, thrown: &JsValue) -> StoreError {
    StoreError {
        operation,
        message: describe(thrown),
    }
}

/// What `get` settled to, as a record: a string, or nothing.
///
/// # Errors
/// Any other value.
pub fn get_answer(value: &JsValue) -> Result<Option<String>, StoreError> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or(StoreError {
        operation: "get",
        message: "store.get must return a string or null".into(),
    })
}

/// Only a boolean is an answer: reading `undefined`, `1` or `{ inserted: true }` as
/// "taken" would lock the key for the lease with no word said.
fn boolean_answer(operation: &'static str, answer: JsValue) -> Result<bool, StoreError> {
    answer.as_bool().ok_or_else(|| StoreError {
        operation,
        message: format!("store.{operation} must answer true or false, got {}", describe(&answer)),
    })
}

fn ttl_options(ttl_ms: f64) -> JsValue {
    let options = Object::new();
    set(&options, "ttlMs", ttl_ms);
    options.into()
}

impl KvStore for JsStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        let call = self.call("get", &self.get, &[JsValue::from_str(key)]);
        Box::pin(async move { get_answer(&call.await?) })
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        let call = self.call(
            "put",
            &self.put,
            &[JsValue::from_str(key), JsValue::from_str(&value), ttl_options(ttl_ms)],
        );
        Box::pin(async move { call.await.map(|_| ()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        let call = self.call("delete", &self.delete, &[JsValue::from_str(key)]);
        Box::pin(async move { call.await.map(|_| ()) })
    }

    fn atomic_put_if_absent(&self) -> bool {
        self.put_if_absent.is_some()
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let Some(f) = &self.put_if_absent else {
            return put_if_absent_by_read(self, key, value, ttl_ms);
        };
        let call = self.call(
            "putIfAbsent",
            f,
            &[JsValue::from_str(key), JsValue::from_str(&value), ttl_options(ttl_ms)],
        );
        Box::pin(async move { boolean_answer("putIfAbsent", call.await?) })
    }

    fn atomic_compare_and_swap(&self) -> bool {
        self.compare_and_swap.is_some()
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected_old: &'a str,
        new: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let Some(f) = &self.compare_and_swap else {
            return compare_and_swap_by_read(self, key, expected_old, new, ttl_ms);
        };
        let args = [
            JsValue::from_str(key),
            JsValue::from_str(expected_old),
            JsValue::from_str(&new),
            ttl_options(ttl_ms),
        ];
        let call = self.call("compareAndSwap", f, &args);
        Box::pin(async move { boolean_answer("compareAndSwap", call.await?) })
    }
}
