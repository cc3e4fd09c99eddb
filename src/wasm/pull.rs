//! Pulling values from JS, one step at a time: an async iterator (`next()`)
//! or a stream reader (`read()`), each step a guarded call whose promise is
//! adopted through [`settled`]. Dropping a [`Pull`] before its end calls the
//! iterator's `return()` or the reader's `cancel()` (a rejection of that is
//! handled by a no-op, so the host sees no unhandled rejection), so the
//! upstream stops. The JS tool streams and fetch's streamed bodies share it.

use js_sys::{Function, Reflect, Symbol};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::guard::{self, settled, Unsettled};

/// A source of steps (`{ done, value }` objects).
pub struct Pull {
    target: JsValue,
    pull: Function,
    /// `return` of an iterator, `cancel` of a reader.
    stop: Option<Function>,
    done: bool,
}

impl Pull {
    fn of(target: JsValue, pull: &'static str, stop: &'static str) -> Result<Option<Self>, JsValue> {
        let Some(pull) = guard::method(&target, pull)? else {
            return Ok(None);
        };
        let stop = guard::method(&target, stop)?;
        Ok(Some(Self {
            target,
            pull,
            stop,
            done: false,
        }))
    }

    /// `value[Symbol.asyncIterator]()`, when `value` is async-iterable.
    ///
    /// # Errors
    /// What reading or calling the iterator threw.
    pub fn iterator_of(value: &JsValue) -> Result<Option<Self>, JsValue> {
        if !guard::is_object_like(value) {
            return Ok(None);
        }
        let iterate = Reflect::get(value, &Symbol::async_iterator())?;
        let Some(iterate) = iterate.dyn_ref::<Function>() else {
            return Ok(None);
        };
        Self::of(guard::call(iterate, value, &[])?, "next", "return")
    }

    /// `value.getReader()`, when `value` is a `ReadableStream`.
    ///
    /// # Errors
    /// What reading or calling `getReader` threw.
    pub fn reader_of(value: &JsValue) -> Result<Option<Self>, JsValue> {
        let Some(get_reader) = guard::method(value, "getReader")? else {
            return Ok(None);
        };
        Self::of(guard::call(&get_reader, value, &[])?, "read", "cancel")
    }

    /// The next step object, as the source gave it (its `done` and `value`
    /// are the caller's to read).
    ///
    /// # Errors
    /// `Rejected` when the call threw or its promise rejected, `Broken` when
    /// its promise could not be adopted.
    pub async fn step(&mut self) -> Result<JsValue, Unsettled> {
        let pulled = guard::call(&self.pull, &self.target, &[]).map_err(Unsettled::Rejected)?;
        settled(pulled).await
    }

    /// The source said it is done: nothing to stop when dropped.
    pub fn finished(&mut self) {
        self.done = true;
    }
}

impl Drop for Pull {
    fn drop(&mut self) {
        if let (false, Some(stop)) = (self.done, &self.stop) {
            if let Ok(returned) = guard::call(stop, &self.target, &[]) {
                if let Ok(Some(catch)) = guard::method(&returned, "catch") {
                    let ignore = Closure::once_into_js(|_: JsValue| {});
                    let _ = guard::call(&catch, &returned, &[ignore]);
                }
            }
        }
    }
}
