//! A store that fails, or answers slowly, on demand.

use std::cell::Cell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;

use super::VirtualClock;
use crate::platform::{compare_and_swap_by_read, KvStore, MemoryKv, Sleeper, StoreError};

/// A [`MemoryKv`] whose operations can be made to fail or lag, and which
/// counts them. With `atomic` off it claims no compare-and-set, as Workers KV;
/// with `coarse_ttl_ms` set it keeps every value at least that long, as
/// Workers KV's 60 s minimum TTL.
pub struct FlakyKv {
    inner: MemoryKv,
    clock: Rc<VirtualClock>,
    /// Make `get` fail.
    pub fail_get: Cell<bool>,
    /// Make `put` fail.
    pub fail_put: Cell<bool>,
    /// Make `put_if_absent` fail.
    pub fail_put_if_absent: Cell<bool>,
    /// Make `delete` fail.
    pub fail_delete: Cell<bool>,
    /// Virtual ms each operation takes.
    pub delay_ms: Cell<f64>,
    /// Whether `put_if_absent` is atomic.
    pub atomic: Cell<bool>,
    /// Whether `compare_and_swap` is atomic (only while `atomic` is too).
    pub atomic_cas: Cell<bool>,
    /// The shortest TTL the store keeps a value for (0: exact TTLs).
    pub coarse_ttl_ms: Cell<f64>,
    /// Operations performed.
    pub ops: Cell<u32>,
}

impl FlakyKv {
    /// A working, atomic, instant store on `clock`.
    pub fn new(clock: &Rc<VirtualClock>) -> Self {
        Self {
            inner: MemoryKv::new(clock.clone()),
            clock: Rc::clone(clock),
            fail_get: Cell::new(false),
            fail_put: Cell::new(false),
            fail_put_if_absent: Cell::new(false),
            fail_delete: Cell::new(false),
            delay_ms: Cell::new(0.0),
            atomic: Cell::new(true),
            atomic_cas: Cell::new(true),
            coarse_ttl_ms: Cell::new(0.0),
            ops: Cell::new(0),
        }
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    fn ttl(&self, ttl_ms: f64) -> f64 {
        ttl_ms.max(self.coarse_ttl_ms.get())
    }

    fn begin(&self, operation: &'static str, fail: bool) -> LocalBoxFuture<'static, Result<(), StoreError>> {
        self.ops.set(self.ops.get() + 1);
        let wait = self.clock.sleep(self.delay_ms.get());
        Box::pin(async move {
            wait.await;
            if fail {
                Err(StoreError {
                    operation,
                    message: "injected failure".into(),
                })
            } else {
                Ok(())
            }
        })
    }
}

impl KvStore for FlakyKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        let gate = self.begin("get", self.fail_get.get());
        Box::pin(async move {
            gate.await?;
            self.inner.get(key).await
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        let gate = self.begin("put", self.fail_put.get());
        Box::pin(async move {
            gate.await?;
            self.inner.put(key, value, self.ttl(ttl_ms)).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        let gate = self.begin("delete", self.fail_delete.get());
        Box::pin(async move {
            gate.await?;
            self.inner.delete(key).await
        })
    }

    fn atomic_put_if_absent(&self) -> bool {
        self.atomic.get()
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let gate = self.begin("putIfAbsent", self.fail_put_if_absent.get());
        Box::pin(async move {
            gate.await?;
            self.inner.put_if_absent(key, value, self.ttl(ttl_ms)).await
        })
    }

    fn atomic_compare_and_swap(&self) -> bool {
        self.atomic.get() && self.atomic_cas.get()
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected_old: &'a str,
        new: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        if !self.atomic_compare_and_swap() {
            return compare_and_swap_by_read(self, key, expected_old, new, ttl_ms);
        }
        let gate = self.begin("compareAndSwap", self.fail_put.get());
        Box::pin(async move {
            gate.await?;
            self.inner
                .compare_and_swap(key, expected_old, new, self.ttl(ttl_ms))
                .await
        })
    }
}
