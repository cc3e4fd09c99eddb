//! The key-value store idempotency records live in, supplied by the host.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::future::{self, LocalBoxFuture};

use super::Clock;
use crate::model::reasons::StoreError;

/// Async string key-value storage with TTLs.
///
/// Values are opaque strings; records carry their own expiry, so a store
/// whose TTL is coarse (Workers KV rounds up to 60 s) still expires them
/// on time: a record the store still holds past its own expiry is replaced,
/// with [`KvStore::compare_and_swap`] when the store has an atomic one
/// (once-only even when several runs race to replace it), else by delete
/// then [`KvStore::put_if_absent`] (two racing runs can both win).
pub trait KvStore {
    /// The value under `key`, or `None`.
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>>;

    /// Stores `value` under `key` for about `ttl_ms` milliseconds.
    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>>;

    /// Removes `key` (no error when it is absent).
    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>>;

    /// Whether [`KvStore::put_if_absent`] is a real compare-and-set.
    fn atomic_put_if_absent(&self) -> bool {
        false
    }

    /// Stores `value` only if `key` holds nothing; `true` when it stored.
    ///
    /// The default reads then writes, which two isolates can interleave;
    /// stores that can do better override it and [`KvStore::atomic_put_if_absent`].
    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        put_if_absent_by_read(self, key, value, ttl_ms)
    }

    /// Whether [`KvStore::compare_and_swap`] is a real compare-and-swap.
    ///
    /// When it is not, a record kept past its own expiry (by a store whose
    /// TTL is coarse, as Workers KV's 60 s minimum) is replaced by deleting
    /// it then claiming the key with [`KvStore::put_if_absent`]: two runs
    /// replacing the same expired record at once can then both claim the key,
    /// so the expiry boundary is not once-only on such a store.
    fn atomic_compare_and_swap(&self) -> bool {
        false
    }

    /// Replaces the value under `key` with `new` (kept about `ttl_ms`) only
    /// if it is exactly `expected_old`; `true` when it replaced it, `false`
    /// when the key holds anything else or nothing.
    ///
    /// The default reads then writes, which two isolates can interleave;
    /// stores that can do better override it and [`KvStore::atomic_compare_and_swap`].
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected_old: &'a str,
        new: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        compare_and_swap_by_read(self, key, expected_old, new, ttl_ms)
    }
}

/// `compare_and_swap` for stores without one: read, then write if the value
/// is the expected one. Two isolates can interleave between the two steps.
pub fn compare_and_swap_by_read<'a, S: KvStore + ?Sized>(
    store: &'a S,
    key: &'a str,
    expected_old: &'a str,
    new: String,
    ttl_ms: f64,
) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
    Box::pin(async move {
        if store.get(key).await?.as_deref() != Some(expected_old) {
            return Ok(false);
        }
        store.put(key, new, ttl_ms).await?;
        Ok(true)
    })
}

/// `put_if_absent` for stores without a compare-and-set: read, then write
/// if empty. Two isolates can interleave between the two steps.
pub fn put_if_absent_by_read<'a, S: KvStore + ?Sized>(
    store: &'a S,
    key: &'a str,
    value: String,
    ttl_ms: f64,
) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
    Box::pin(async move {
        if store.get(key).await?.is_some() {
            return Ok(false);
        }
        store.put(key, value, ttl_ms).await?;
        Ok(true)
    })
}

/// An in-memory store for one isolate: strong, atomic, expiring on a [`Clock`].
pub struct MemoryKv {
    clock: Rc<dyn Clock>,
    entries: RefCell<HashMap<String, (String, f64)>>,
}

impl MemoryKv {
    /// An empty store whose TTLs run on `clock`'s monotonic time.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Self {
            clock,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// Number of live (unexpired) entries.
    pub fn len(&self) -> usize {
        let now = self.clock.now_ms();
        self.entries.borrow().values().filter(|(_, exp)| *exp > now).count()
    }

    /// Whether no live entry remains.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live entry, as `(key, value)` (for inspecting what was stored).
    pub fn entries(&self) -> Vec<(String, String)> {
        let now = self.clock.now_ms();
        let entries = self.entries.borrow();
        let mut live: Vec<_> = entries
            .iter()
            .filter(|(_, (_, exp))| *exp > now)
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        live.sort();
        live
    }

    fn live(&self, key: &str) -> Option<String> {
        let now = self.clock.now_ms();
        let mut entries = self.entries.borrow_mut();
        match entries.get(key) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert(&self, key: &str, value: String, ttl_ms: f64) {
        let now = self.clock.now_ms();
        let mut entries = self.entries.borrow_mut();
        // Sweep expired entries now and then so abandoned keys do not pile up.
        if entries.len() >= 1024 && entries.len().is_power_of_two() {
            entries.retain(|_, (_, expires)| *expires > now);
        }
        entries.insert(key.to_owned(), (value, now + ttl_ms.max(0.0)));
    }
}

impl KvStore for MemoryKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(future::ready(Ok(self.live(key))))
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        self.insert(key, value, ttl_ms);
        Box::pin(future::ready(Ok(())))
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        self.entries.borrow_mut().remove(key);
        Box::pin(future::ready(Ok(())))
    }

    fn atomic_put_if_absent(&self) -> bool {
        true
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let stored = if self.live(key).is_some() {
            false
        } else {
            self.insert(key, value, ttl_ms);
            true
        };
        Box::pin(future::ready(Ok(stored)))
    }

    fn atomic_compare_and_swap(&self) -> bool {
        true
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected_old: &'a str,
        new: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let swapped = self.live(key).as_deref() == Some(expected_old);
        if swapped {
            self.insert(key, new, ttl_ms);
        }
        Box::pin(future::ready(Ok(swapped)))
    }
}
