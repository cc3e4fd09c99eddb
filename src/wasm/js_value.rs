//! A JS value as a [`Payload`]: requests and outputs cross the boundary
//! untouched; planning reads single paths with `Reflect.get`; a whole value
//! becomes JSON only for a fingerprint or a stored record, through
//! `JSON.stringify`, which rejects cycles and overdeep nesting with a
//! catchable error instead of a stack overflow in wasm.

use std::borrow::Cow;

use js_sys::JSON;
use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

use super::guard::{self, describe};

use crate::model::payload::Payload;
use crate::planning::Path;

/// A JS request or output.
#[derive(Clone, Debug)]
pub struct JsPayload(pub JsValue);

impl Payload for JsPayload {
    fn lookup(&self, path: &Path) -> Option<Cow<'_, Value>> {
        if !self.0.is_object() {
            let text = self.0.as_string()?;
            return match path.segments() {
                [only] if only == "query" => Some(Cow::Owned(Value::String(text))),
                _ => None,
            };
        }
        let mut segments = path.segments().iter();
        // Own properties only (an inherited `type` or `__proto__` is not the
        // request's); a throwing getter or proxy simply means "not there".
        let mut current = guard::get_own(&self.0, segments.next()?).ok()?;
        for segment in segments {
            if !current.is_object() {
                return None;
            }
            current = guard::get_own(&current, segment).ok()?;
        }
        if current.is_undefined() {
            return None;
        }
        to_json(&current).ok().map(Cow::Owned)
    }

    fn to_json(&self) -> Result<Value, String> {
        to_json(&self.0)
    }

    fn to_record_json(&self) -> Result<Value, String> {
        faithful_json(&self.0, 0, &mut 0)
    }

    fn from_json(value: Value) -> Result<Self, String> {
        from_json(&value).map(JsPayload)
    }
}

/// Nodes (values) a stored output may have, and how deep it may nest.
const MAX_RECORD_NODES: usize = 1_000_000;
const MAX_RECORD_DEPTH: usize = 64;

/// A JS value as JSON only when JSON holds it faithfully, so a replay returns
/// exactly what the first run returned: `null`, booleans, strings, finite
/// numbers, arrays and plain objects (a property whose value is `undefined`
/// is left out, as JSON does). A typed array, `Map`, `Set`, `Date`, class
/// instance, function, symbol, bigint, non-finite number or `undefined` item
/// is refused with the path where it sits.
fn faithful_json(value: &JsValue, depth: usize, nodes: &mut usize) -> Result<Value, String> {
    *nodes += 1;
    if *nodes > MAX_RECORD_NODES || depth > MAX_RECORD_DEPTH {
        return Err("is too large or too deeply nested to store".into());
    }
    if value.is_null() {
        return Ok(Value::Null);
    }
    if let Some(text) = value.as_string() {
        return Ok(Value::String(text));
    }
    if let Some(flag) = value.as_bool() {
        return Ok(Value::Bool(flag));
    }
    if let Some(n) = value.as_f64() {
        return serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| format!("holds {n}, which JSON cannot store"));
    }
    let unreadable = |e: JsValue| format!("cannot be read: {}", describe(&e));
    if guard::is_array(value).map_err(unreadable)? {
        let items = guard::items(value).map_err(unreadable)?;
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| faithful_json(item, depth + 1, nodes).map_err(|m| format!("[{i}] {m}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if !guard::is_plain_object(value).map_err(unreadable)? {
        return Err(format!("is not plain JSON data ({})", kind_of(value)));
    }
    let mut map = serde_json::Map::new();
    for key in guard::keys(value).map_err(unreadable)? {
        let item = guard::get_data(value, &key).map_err(unreadable)?;
        if item.is_undefined() {
            continue;
        }
        let json = faithful_json(&item, depth + 1, nodes).map_err(|m| format!(".{key} {m}"))?;
        map.insert(key, json);
    }
    Ok(Value::Object(map))
}

/// A short name for what kind of value `value` is, for error messages.
fn kind_of(value: &JsValue) -> String {
    if value.is_undefined() {
        return "undefined".into();
    }
    if value.is_function() {
        return "a function".into();
    }
    if !value.is_object() {
        return format!("a {}", value.js_typeof().as_string().unwrap_or_default());
    }
    guard::prop(value, "constructor")
        .and_then(|c| guard::prop(&c, "name"))
        .and_then(|n| n.as_string())
        .map_or_else(|| "an object".into(), |name| format!("a {name}"))
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

/// The key of the object [`to_json_strict`] puts where JSON would silently drop
/// or change a value, so validation can name the field.
const UNSUPPORTED: &str = "__reliableOrchestratorUnsupported";

thread_local! {
    /// A `JSON.stringify` replacer for config and options: non-finite numbers
    /// are spelled out (JSON would turn them into `null`), and functions,
    /// symbols, bigints and non-plain objects (`Map`, `Set`, typed arrays,
    /// class instances) become a marker (JSON would drop them, or write `{}`),
    /// so validation sees what was given and names the field.
    /// (Its answer is a `Result` for the reason [`super::Returned`] is.)
    static STRICT_REPLACER: Closure<dyn FnMut(JsValue, JsValue) -> super::Returned> =
        Closure::new(|_key: JsValue, value: JsValue| Ok(strict_value(value)));
}

fn marker(kind: &str) -> JsValue {
    let out = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&out, &JsValue::from_str(UNSUPPORTED), &JsValue::from_str(kind));
    out.into()
}

fn strict_value(value: JsValue) -> JsValue {
    if let Some(n) = value.as_f64() {
        return if n.is_finite() {
            value
        } else {
            JsValue::from_str(&n.to_string())
        };
    }
    if value.is_function() || value.is_symbol() || value.is_bigint() {
        return marker(&kind_of(&value));
    }
    if value.is_object() {
        let data = guard::is_array(&value).unwrap_or(false) || guard::is_plain_object(&value).unwrap_or(false);
        if !data {
            return marker(&kind_of(&value));
        }
    }
    value
}

/// Like [`to_json`], for config and options that must be data: NaN and
/// infinities become strings (`"NaN"`, `"inf"`) instead of `null`, and a
/// function, symbol, bigint, `Map`, `Set`, typed array or class instance is an
/// error naming where it sits.
///
/// # Errors
/// `(path, message)`: the dotted path below `value` (empty for `value` itself).
pub fn to_json_strict(value: &JsValue) -> Result<Value, (String, String)> {
    if value.is_function() || value.is_symbol() || value.is_bigint() || value.as_f64().is_some() {
        return unsupported_in(to_json(&strict_value(value.clone())).map_err(|m| (String::new(), m))?);
    }
    if !value.is_object() {
        return to_json(value).map_err(|m| (String::new(), m));
    }
    let json = parse_stringified(STRICT_REPLACER.with(|r| JSON::stringify_with_replacer(value, r.as_ref())))
        .map_err(|m| (String::new(), m))?;
    unsupported_in(json)
}

/// Fails on the first marker [`strict_value`] left, naming its path.
fn unsupported_in(json: Value) -> Result<Value, (String, String)> {
    fn find(value: &Value, path: &mut String) -> Option<String> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(kind)) = map.get(UNSUPPORTED) {
                    return Some(format!("must be data, got {kind}"));
                }
                for (key, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    if let Some(found) = find(item, path) {
                        return Some(found);
                    }
                    path.truncate(len);
                }
                None
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = find(item, path);
                if found.is_none() {
                    path.truncate(len);
                }
                found
            }),
            _ => None,
        }
    }
    let mut path = String::new();
    match find(&json, &mut path) {
        Some(message) => Err((path, message)),
        None => Ok(json),
    }
}

/// JSON as a JS value.
pub fn from_json(value: &Value) -> Result<JsValue, String> {
    match value {
        Value::Null => Ok(JsValue::NULL),
        Value::Bool(b) => Ok(JsValue::from_bool(*b)),
        Value::String(s) => Ok(JsValue::from_str(s)),
        Value::Number(n) => Ok(JsValue::from_f64(n.as_f64().unwrap_or(0.0))),
        other => JSON::parse(&crate::model::json::text(other)).map_err(|e| describe(&e)),
    }
}
