//! Property names the bindings read and set, as JS strings made once.
//!
//! Decoding the same few names from wasm memory on every access was a
//! measurable share of a run; wasm-bindgen's interning (its
//! `enable-interning` feature) cached them, but looked every string the
//! bindings pass to JS up in a SipHash map, names or not, and hashed each
//! name twice per access. The crate's own names are found here by their
//! address, with no hashing of the text; names from user config (a rule
//! path's segments) by their text, up to [`MAX_TEXTS`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use wasm_bindgen::JsValue;

/// Names from config kept at most (past this they are made per access).
const MAX_TEXTS: usize = 4096;

/// FNV-1a over whatever is hashed: addresses and short names.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Map<K> = HashMap<K, JsValue, BuildHasherDefault<Fnv>>;

thread_local! {
    /// By the address and length of a `&'static str`: the same text at two
    /// addresses is two entries of equal strings, which is harmless.
    static STATIC: RefCell<Map<(usize, usize)>> = RefCell::new(Map::default());
    static TEXTS: RefCell<Map<Box<str>>> = RefCell::new(Map::default());
}

/// `f` with `name` as a JS string. Nothing is cloned: `f` runs inside the
/// cache's borrow, and may run user code (a getter) that reads names again;
/// a name first needed then is made for that access alone.
pub fn with_name<R>(name: &'static str, f: impl FnOnce(&JsValue) -> R) -> R {
    let key = (name.as_ptr() as usize, name.len());
    STATIC.with(|cache| {
        if let Some(value) = cache.try_borrow().ok().as_ref().and_then(|map| map.get(&key)) {
            return f(value);
        }
        if let Ok(mut map) = cache.try_borrow_mut() {
            map.insert(key, JsValue::from_str(name));
        }
        match cache.try_borrow() {
            Ok(map) => match map.get(&key) {
                Some(value) => f(value),
                None => f(&JsValue::from_str(name)),
            },
            Err(_) => f(&JsValue::from_str(name)),
        }
    })
}

/// [`with_name`] for a name that came from config, found by its text.
pub fn with_text<R>(name: &str, f: impl FnOnce(&JsValue) -> R) -> R {
    TEXTS.with(|cache| {
        if let Some(value) = cache.try_borrow().ok().as_ref().and_then(|map| map.get(name)) {
            return f(value);
        }
        if let Ok(mut map) = cache.try_borrow_mut() {
            if map.len() < MAX_TEXTS {
                map.insert(name.into(), JsValue::from_str(name));
            }
        }
        match cache.try_borrow() {
            Ok(map) => match map.get(name) {
                Some(value) => f(value),
                None => f(&JsValue::from_str(name)),
            },
            Err(_) => f(&JsValue::from_str(name)),
        }
    })
}
