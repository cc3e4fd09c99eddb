//! Guarded access to JS values: every read, call and check the bindings make
//! on a value that came from user code goes through here.
//!
//! JS can throw from anything: a getter, a Proxy trap (a revoked Proxy throws
//! on every operation, `Array.isArray` included), a thenable's `then`, a
//! native Promise's `constructor` getter (read by `Promise.resolve`), an
//! iterator's `next`. An exception that escapes an unguarded import unwinds
//! through wasm without running destructors, leaving borrows held and the
//! instance poisoned; so every helper here catches and returns a `Result`.

use js_sys::{Array, Function, JsString, Object, Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::names::{with_name, with_text};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn array_is_array(value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(value: &JsValue) -> Result<Array, JsValue>;
    #[wasm_bindgen(js_namespace = Object, js_name = getPrototypeOf, catch)]
    fn object_get_prototype_of(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// Keys per object and items per array read from user values: far above any
/// real config, low enough that a hostile Proxy cannot make us loop for long.
pub const MAX_ITEMS: u32 = 100_000;

/// Whether `value` can have properties (objects and functions).
pub fn is_object_like(value: &JsValue) -> bool {
    value.is_object() || value.is_function()
}

/// `target[key]`; `undefined` for a primitive target. `key` is one of the
/// crate's own names (made once as a JS string: `names.rs`).
///
/// # Errors
/// What a getter or Proxy trap threw.
pub fn get(target: &JsValue, key: &'static str) -> Result<JsValue, JsValue> {
    if !is_object_like(target) {
        return Ok(JsValue::UNDEFINED);
    }
    with_name(key, |name| Reflect::get(target, name))
}

/// [`get`] for a key that came from user data (an output's or the options'
/// own keys): made per read, since a cache of keys without bound would grow
/// without bound.
///
/// # Errors
/// What a getter or Proxy trap threw.
pub fn get_data(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    if !is_object_like(target) {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get(target, &JsValue::from_str(key))
}

/// `target[key]` when it is an own property (inherited ones, `__proto__`
/// included, do not count); `undefined` otherwise. `key` is a rule path's
/// segment, one of a few the planner reads on every run: kept as a JS string.
///
/// # Errors
/// What a getter or Proxy trap threw.
pub fn get_own(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    if !is_object_like(target) {
        return Ok(JsValue::UNDEFINED);
    }
    with_text(key, |name| {
        let descriptor = Reflect::get_own_property_descriptor(target.unchecked_ref::<Object>(), name)?;
        if descriptor.is_undefined() {
            return Ok(JsValue::UNDEFINED);
        }
        Reflect::get(target, name)
    })
}

/// `target[index]` for an array-like.
///
/// # Errors
/// What a getter or Proxy trap threw.
pub fn get_index(target: &JsValue, index: u32) -> Result<JsValue, JsValue> {
    if !is_object_like(target) {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get_u32(target, index)
}

/// A property that is present: `None` when absent, `undefined`, `null` or
/// throwing (for reads where a throw simply means "not given").
pub fn prop(target: &JsValue, key: &'static str) -> Option<JsValue> {
    get(target, key).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// `Array.isArray(value)`.
///
/// # Errors
/// A revoked Proxy throws.
pub fn is_array(value: &JsValue) -> Result<bool, JsValue> {
    if !value.is_object() {
        return Ok(false);
    }
    array_is_array(value)
}

/// Whether `value` is a plain object: not an array, and its prototype is
/// `Object.prototype` or `null` (a `Map`, `Date`, class instance or typed
/// array is not).
///
/// # Errors
/// A revoked Proxy throws.
pub fn is_plain_object(value: &JsValue) -> Result<bool, JsValue> {
    if !value.is_object() || is_array(value)? {
        return Ok(false);
    }
    let proto = object_get_prototype_of(value)?;
    Ok(proto.is_null() || OBJECT_PROTOTYPE.with(|plain| Object::is(&proto, plain)))
}

thread_local! {
    /// This realm's `Object.prototype`, read once off an object of our own (the
    /// strict options path asks for it for every object an options value holds).
    static OBJECT_PROTOTYPE: JsValue = object_get_prototype_of(&Object::new()).unwrap_or(JsValue::NULL);
}

/// `Object.keys(value)` as strings, at most [`MAX_ITEMS`].
///
/// # Errors
/// What an `ownKeys` or descriptor trap threw, or too many keys.
pub fn keys(value: &JsValue) -> Result<Vec<String>, JsValue> {
    if !is_object_like(value) {
        return Ok(Vec::new());
    }
    let keys = object_keys(value)?;
    if keys.length() > MAX_ITEMS {
        return Err(JsValue::from_str("has too many keys"));
    }
    Ok(keys.iter().filter_map(|k| k.as_string()).collect())
}

/// An array's items, read one by one through guarded reads.
///
/// # Errors
/// What a trap or getter threw, or more than [`MAX_ITEMS`] items.
pub fn items(array: &JsValue) -> Result<Vec<JsValue>, JsValue> {
    let length = get(array, "length")?.as_f64().unwrap_or(0.0);
    if !(0.0..=f64::from(MAX_ITEMS)).contains(&length) {
        return Err(JsValue::from_str("has too many items"));
    }
    (0..length as u32).map(|i| get_index(array, i)).collect()
}

/// `f.apply(this, args)`.
///
/// # Errors
/// What the function threw.
pub fn call(f: &Function, this: &JsValue, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let args: Array = args.iter().collect();
    f.apply(this, &args)
}

/// The method `name` of `target`, when it is a function.
///
/// # Errors
/// What the getter threw.
pub fn method(target: &JsValue, name: &'static str) -> Result<Option<Function>, JsValue> {
    Ok(get(target, name)?.dyn_into::<Function>().ok())
}

/// Why a returned value did not settle to a value.
pub enum Unsettled {
    /// The promise rejected (or the thenable called its reject) with this.
    Rejected(JsValue),
    /// Its `then` could not be read or threw when called: not a usable value.
    Broken(JsValue),
}

/// What a JS call returned, awaited when it is a promise or another thenable.
///
/// A thenable is adopted the way the Promise resolve job does it, with every
/// step guarded: its `then` is read once and called with our own resolve and
/// reject. `Promise.resolve` is never called on a user value, because it reads
/// `constructor` (which may throw).
///
/// # Errors
/// The rejection value, or what reading or calling `then` threw.
pub async fn settled(value: JsValue) -> Result<JsValue, Unsettled> {
    if !is_object_like(&value) {
        return Ok(value);
    }
    let then = match get(&value, "then").map_err(Unsettled::Broken)?.dyn_into::<Function>() {
        Ok(then) => then,
        Err(_) => return Ok(value),
    };
    if let Some(pending) = super::promises::adopt(&value, &then) {
        return match pending.await {
            (super::promises::FULFILLED, value) => Ok(value),
            (super::promises::REJECTED, reason) => Err(Unsettled::Rejected(reason)),
            (_, thrown) => Err(Unsettled::Broken(thrown)),
        };
    }
    let broken = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = std::rc::Rc::clone(&broken);
    let promise = Promise::new(&mut |resolve, reject| {
        if let Err(thrown) = then.call2(&value, &resolve, &reject) {
            flag.set(true);
            let _ = reject.call1(&JsValue::UNDEFINED, &thrown);
        }
    });
    JsFuture::from(promise).await.map_err(|e| {
        if broken.get() {
            Unsettled::Broken(e)
        } else {
            Unsettled::Rejected(e)
        }
    })
}

/// [`settled`] where a broken thenable counts as a rejection.
///
/// # Errors
/// The rejection value or what `then` threw.
pub async fn settled_or_thrown(value: JsValue) -> Result<JsValue, JsValue> {
    settled(value).await.map_err(|e| match e {
        Unsettled::Rejected(e) | Unsettled::Broken(e) => e,
    })
}

/// A short human description of any thrown JS value (never throws itself).
pub fn describe(value: &JsValue) -> String {
    if value.is_undefined() {
        return "undefined".to_owned();
    }
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(message) = get(value, "message").ok().and_then(|m| m.as_string()) {
        return message;
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s: JsString| s.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
