//! Keyed runs whose record the TypeScript driver reads: planned here
//! (`beginKeyed`), their store's `get` called here and awaited by the driver
//! (`keyedGet`), the answer given back (`keyedRead`): a hit is the result at
//! once, without the async Rust driver; anything else goes to the Rust driver
//! (`run`) with the plan and the read, which it uses as its first read
//! (`orchestrator/prefetch.rs`). Only runs whose options hold ids and a key
//! come here: nothing (a signal, a deadline) may end the read early.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::super::js_kv::{failure, get_answer};
use super::super::js_value::JsPayload;
use super::super::{convert, Returned, WasmOrchestrator};
use super::ids::id_options;
use super::table::Parsed;
use crate::orchestrator::{Answered, KeyRead, RunOptions};
use crate::trace::TraceIds;

/// Reads under way at most (past this, keyed runs go to the Rust driver).
const MAX_READS: usize = 1 << 16;

/// A keyed run whose record is being read.
struct Reading {
    read: KeyRead,
    options: RunOptions<JsPayload>,
    /// The options object, for the Rust driver's `run` to find them by.
    raw: JsValue,
    ids: TraceIds,
    started: f64,
}

/// The reads under way, by handle (index + 1).
#[derive(Default)]
pub struct Reads {
    slots: Vec<Option<Reading>>,
    free: Vec<usize>,
}

impl Reads {
    fn insert(&mut self, reading: Reading) -> Option<u32> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() < MAX_READS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        *self.slots.get_mut(index)? = Some(reading);
        u32::try_from(index + 1).ok()
    }

    fn get(&self, handle: u32) -> Option<&Reading> {
        self.slots.get((handle as usize).checked_sub(1)?)?.as_ref()
    }

    fn take(&mut self, handle: u32) -> Option<Reading> {
        let index = (handle as usize).checked_sub(1)?;
        let reading = self.slots.get_mut(index)?.take()?;
        self.free.push(index);
        Some(reading)
    }
}

/// A keyed run the driver reads, or the Rust driver's run (with its options, for `run`).
enum Begun {
    Reading(Reading),
    Rust(Parsed),
}

impl WasmOrchestrator {
    fn keyed_reading(&self, request: JsValue, raw: &JsValue, parsed: Parsed, now: f64, request_id: String) -> Begun {
        let Ok((options, None)) = parsed else {
            return Begun::Rust(parsed);
        };
        let Ok(Some(ids)) = self.ids_of(&options, true, Some(request_id)) else {
            return Begun::Rust(Ok((options, None)));
        };
        // Planning and the fingerprint read the request (getters, `toJSON`): no borrow held.
        match self.inner.begin_key_read(&JsPayload(request), &options) {
            Some(read) => Begun::Reading(Reading {
                read,
                options,
                raw: raw.clone(),
                ids,
                started: now,
            }),
            None => Begun::Rust(Ok((options, None))),
        }
    }
}

#[wasm_bindgen]
impl WasmOrchestrator {
    /// Whether the driver reads keyed runs' records: the store is a JS one.
    #[wasm_bindgen(js_name = readsKeys)]
    pub fn reads_keys(&self) -> bool {
        self.driven.borrow().store.is_some()
    }

    /// Plans a keyed run whose options hold ids and `key` alone, as the
    /// driver read them (`beginIds`), for the driver to read its record: a
    /// handle, or 0 for the Rust driver (its options kept for `run`).
    /// `request_id` is the driver's own, for a run whose options give none.
    #[wasm_bindgen(js_name = beginKeyed)]
    #[expect(
        clippy::too_many_arguments,
        reason = "each option crosses as its own value, as for `beginIds`"
    )]
    pub fn begin_keyed(
        &self,
        request: JsValue,
        options: JsValue,
        option_request_id: Option<String>,
        trace_id: Option<String>,
        key: String,
        now: f64,
        request_id: String,
    ) -> u32 {
        let parsed = id_options(option_request_id, trace_id, Some(key), JsValue::UNDEFINED);
        let handed = match self.keyed_reading(request, &options, parsed, now, request_id) {
            Begun::Reading(reading) => match self.driven.borrow_mut().reads.insert(reading) {
                Some(handle) => return handle,
                None => return 0,
            },
            Begun::Rust(parsed) => parsed,
        };
        self.driven.borrow_mut().hand_over(&options, handed);
        0
    }

    /// Calls the store's `get` for the run's record: what it returned (the
    /// driver awaits it), or throws what it threw.
    #[wasm_bindgen(js_name = keyedGet)]
    pub fn keyed_get(&self, handle: u32) -> Returned {
        let call = {
            let driven = self.driven.borrow();
            let key = driven.reads.get(handle).map(|r| r.read.store_key().to_owned());
            key.zip(driven.store.clone())
        };
        // Called with nothing borrowed: `get` is user code, which may start runs.
        match call {
            Some((key, store)) => store.call_get(&key),
            None => Ok(JsValue::NULL),
        }
    }

    /// Input: the read settled (`failed`: `get` threw or rejected with
    /// `value`). A hit's result, or `undefined`: the run is the Rust driver's
    /// now, its plan and read kept for `run`, which the driver calls at once.
    #[wasm_bindgen(js_name = keyedRead)]
    pub fn keyed_read(&self, handle: u32, failed: bool, value: JsValue) -> Returned {
        // `Returned`, not a lone `JsValue`: V8 11.3 aborts deoptimising an inlined export
        // that returns one (`exports.test.mjs`).
        let Some(reading) = self.driven.borrow_mut().reads.take(handle) else {
            return Ok(JsValue::UNDEFINED);
        };
        let stored = if failed {
            Err(failure("get", &value))
        } else {
            get_answer(&value)
        };
        let wall = self.inner.platform().clock.wall_ms();
        let Reading {
            read,
            options,
            raw,
            ids,
            started,
        } = reading;
        // The hit's event runs the listener: no borrow held.
        match self.inner.key_read(read, stored, wall, &ids, started) {
            Answered::Hit(result) => Ok(convert::result_to_js(result)),
            Answered::Handed(prefetched) => {
                let mut driven = self.driven.borrow_mut();
                driven.hand_over(&raw, Ok((options, None)));
                if let Some(handed) = driven.handed.as_mut() {
                    handed.prefetched = Some(prefetched);
                }
                Ok(JsValue::UNDEFINED)
            }
        }
    }
}
