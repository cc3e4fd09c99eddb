//! A JS value as a [`Payload`]: requests and outputs cross the boundary
//! untouched; planning reads single paths with `Reflect.get`; a whole value
//! becomes JSON only for a fingerprint or a stored record, through
//! `JSON.stringify`, which rejects cycles and overdeep nesting with a
//! catchable error instead of a stack overflow in wasm.

use std::borrow::Cow;

use js_sys::{Promise, Reflect, JSON};
use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::payload::Payload;
use crate::planning::Path;

/// A JS request or output.
#[derive(Clone, Debug)]
pub struct JsPayload(pub JsValue);

impl Payload for JsPayload {
    fn lookup(&self, path: &Path) -> Option<Cow<'_, Value>> {
        if let Some(text) = self.0.as_string() {
            return match path.segments() {
                [only] if only == "query" => Some(Cow::Owned(Value::String(text))),
                _ => None,
            };
        }
        let mut current = self.0.clone();
        for segment in path.segments() {
            if !current.is_object() {
                return None;
            }
            // A throwing getter or proxy simply means "not there".
            current = Reflect::get(&current, &JsValue::from_str(segment)).ok()?;
            if current.is_undefined() {
                return None;
            }
        }
        to_json(&current).ok().map(Cow::Owned)
    }

    fn to_json(&self) -> Result<Value, String> {
        to_json(&self.0)
    }

    fn from_json(value: Value) -> Result<Self, String> {
        from_json(&value).map(JsPayload)
    }
}

/// What a JS call returned, awaited when it is a promise or another thenable.
///
/// # Errors
/// The rejection value.
pub async fn settled(value: JsValue) -> Result<JsValue, JsValue> {
    let thenable = value.is_instance_of::<Promise>()
        || (value.is_object() && Reflect::get(&value, &"then".into()).is_ok_and(|t| t.is_function()));
    if thenable {
        JsFuture::from(Promise::resolve(&value)).await
    } else {
        Ok(value)
    }
}

/// A JS value as JSON (primitives directly, the rest through `JSON.stringify`).
pub fn to_json(value: &JsValue) -> Result<Value, String> {
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(text) = value.as_string() {
        return Ok(Value::String(text));
    }
    if let Some(flag) = value.as_bool() {
        return Ok(Value::Bool(flag));
    }
    if let Some(number) = value.as_f64() {
        return Ok(serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number));
    }
    parse_stringified(JSON::stringify(value))
}

/// Reads what `JSON.stringify` produced (or threw) as JSON.
fn parse_stringified(stringified: Result<js_sys::JsString, JsValue>) -> Result<Value, String> {
    let text = stringified.map_err(|e| format!("cannot be serialised to JSON: {}", describe(&e)))?;
    let text = text.as_string().ok_or("cannot be serialised to JSON")?;
    serde_json::from_str(&text).map_err(|e| format!("cannot be read as JSON: {e}"))
}

thread_local! {
    /// A `JSON.stringify` replacer that spells out non-finite numbers
    /// (which JSON would silently turn into `null`), so config validation
    /// sees `"NaN"` where a number belongs and names the field.
    static KEEP_NON_FINITE: Closure<dyn FnMut(JsValue, JsValue) -> JsValue> =
        Closure::new(|_key: JsValue, value: JsValue| match value.as_f64() {
            Some(n) if !n.is_finite() => JsValue::from_str(&n.to_string()),
            _ => value,
        });
}

/// Like [`to_json`], but NaN and infinities become strings (`"NaN"`, `"inf"`)
/// instead of `null`, for config and options that must reject them.
pub fn to_json_strict(value: &JsValue) -> Result<Value, String> {
    if let Some(n) = value.as_f64() {
        if !n.is_finite() {
            return Ok(Value::String(n.to_string()));
        }
    }
    if !value.is_object() {
        return to_json(value);
    }
    parse_stringified(KEEP_NON_FINITE.with(|replacer| JSON::stringify_with_replacer(value, replacer.as_ref())))
}

/// JSON as a JS value.
pub fn from_json(value: &Value) -> Result<JsValue, String> {
    match value {
        Value::Null => Ok(JsValue::NULL),
        Value::Bool(b) => Ok(JsValue::from_bool(*b)),
        Value::String(s) => Ok(JsValue::from_str(s)),
        Value::Number(n) => Ok(JsValue::from_f64(n.as_f64().unwrap_or(0.0))),
        other => JSON::parse(&other.to_string()).map_err(|e| describe(&e)),
    }
}

/// A short human description of any thrown JS value.
pub fn describe(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if value.is_object() {
        if let Some(message) = Reflect::get(value, &"message".into()).ok().and_then(|m| m.as_string()) {
            return message;
        }
    }
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
