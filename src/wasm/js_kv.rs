//! A store implemented in JS: any `{ get, put, delete, putIfAbsent?, consistency? }`
//! whose methods return values or promises. Methods are looked up once.

use futures::future::LocalBoxFuture;
use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::errors::{prop, set};
use super::js_value::{describe, settled};
use crate::error::OrchestratorError;
use crate::platform::{put_if_absent_by_read, Consistency, KvStore, StoreError};

/// A JS key-value store.
pub struct JsStore {
    this: JsValue,
    get: Function,
    put: Function,
    delete: Function,
    put_if_absent: Option<Function>,
    consistency: Consistency,
}

fn method(store: &JsValue, name: &str) -> Option<Function> {
    prop(store, name).and_then(|f| f.dyn_into::<Function>().ok())
}

impl JsStore {
    /// Reads a store object (errors name `store.<method>`).
    ///
    /// # Errors
    /// `invalid_config` when a required method is missing.
    pub fn from_js(store: &JsValue) -> Result<Self, OrchestratorError> {
        let required = |name: &str| {
            method(store, name).ok_or_else(|| OrchestratorError::config(format!("store.{name}"), "must be a function"))
        };
        let consistency = match prop(store, "consistency").and_then(|c| c.as_string()).as_deref() {
            None | Some("eventual") => Consistency::Eventual,
            Some("strong") => Consistency::Strong,
            Some(other) => {
                return Err(OrchestratorError::config(
                    "store.consistency",
                    format!("must be \"strong\" or \"eventual\", got \"{other}\""),
                ))
            }
        };
        Ok(Self {
            this: store.clone(),
            get: required("get")?,
            put: required("put")?,
            delete: required("delete")?,
            put_if_absent: method(store, "putIfAbsent"),
            consistency,
        })
    }

    fn call(
        &self,
        operation: &'static str,
        f: &Function,
        args: &[JsValue],
    ) -> LocalBoxFuture<'static, Result<JsValue, StoreError>> {
        let fail = move |e: JsValue| StoreError {
            operation,
            message: describe(&e),
        };
        let array: js_sys::Array = args.iter().collect();
        let called = f.apply(&self.this, &array).map_err(fail);
        Box::pin(async move { settled(called?).await.map_err(fail) })
    }
}

fn ttl_options(ttl_ms: f64) -> JsValue {
    let options = Object::new();
    set(&options, "ttlMs", ttl_ms);
    options.into()
}

impl KvStore for JsStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        let call = self.call("get", &self.get, &[JsValue::from_str(key)]);
        Box::pin(async move {
            let value = call.await?;
            if value.is_null() || value.is_undefined() {
                return Ok(None);
            }
            value.as_string().map(Some).ok_or(StoreError {
                operation: "get",
                message: "store.get must return a string or null".into(),
            })
        })
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
        Box::pin(async move { Ok(call.await?.as_bool().unwrap_or(false)) })
    }

    fn consistency(&self) -> Consistency {
        self.consistency
    }
}
