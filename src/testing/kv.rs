//! A store that fails, or answers slowly, on demand.

use std::cell::Cell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;

use super::VirtualClock;
use crate::platform::{Consistency, KvStore, MemoryKv, Sleeper, StoreError};

/// A [`MemoryKv`] whose operations can be made to fail or lag, and which
/// counts them. With `atomic` off it claims no compare-and-set, as Workers KV.
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
            self.inner.put(key, value, ttl_ms).await
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
            self.inner.put_if_absent(key, value, ttl_ms).await
        })
    }

    fn consistency(&self) -> Consistency {
        if self.atomic.get() {
            Consistency::Strong
        } else {
            Consistency::Eventual
        }
    }
}
