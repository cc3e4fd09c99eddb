//! The simulation's store: operations fail or lag at random (fail-closed runs
//! must then not execute); optionally atomic (`put_if_absent` and
//! `compare_and_swap`), optionally coarse (every value kept at least 60 s, as
//! Workers KV, so records outlive their own expiry).

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use reliable_orchestrator::{KvStore, MemoryKv, Sleeper, StoreError};

use super::World;

/// Workers KV's minimum TTL.
const COARSE_TTL_MS: f64 = 60_000.0;

pub struct ChaosKv {
    pub inner: MemoryKv,
    pub world: Rc<World>,
    pub failure_rate: f64,
    pub always_fail: bool,
    pub atomic: bool,
    pub coarse: bool,
}

impl ChaosKv {
    fn gate(&self, operation: &'static str) -> LocalBoxFuture<'static, Result<(), StoreError>> {
        let fail = self.always_fail || self.world.rng.chance(self.failure_rate);
        let wait = self.world.clock.sleep(self.world.rng.below(5) as f64);
        Box::pin(async move {
            wait.await;
            if fail {
                Err(StoreError {
                    operation,
                    message: "injected".into(),
                })
            } else {
                Ok(())
            }
        })
    }

    fn ttl(&self, ttl_ms: f64) -> f64 {
        if self.coarse {
            ttl_ms.max(COARSE_TTL_MS)
        } else {
            ttl_ms
        }
    }
}

impl KvStore for ChaosKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        let gate = self.gate("get");
        Box::pin(async move {
            gate.await?;
            self.inner.get(key).await
        })
    }
    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        let gate = self.gate("put");
        Box::pin(async move {
            gate.await?;
            self.inner.put(key, value, self.ttl(ttl_ms)).await
        })
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        let gate = self.gate("delete");
        Box::pin(async move {
            gate.await?;
            self.inner.delete(key).await
        })
    }
    fn atomic_put_if_absent(&self) -> bool {
        self.atomic
    }
    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let gate = self.gate("put_if_absent");
        Box::pin(async move {
            gate.await?;
            self.inner.put_if_absent(key, value, self.ttl(ttl_ms)).await
        })
    }
    fn atomic_compare_and_swap(&self) -> bool {
        self.atomic
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected_old: &'a str,
        new: String,
        ttl_ms: f64,
    ) -> LocalBoxFuture<'a, Result<bool, StoreError>> {
        let gate = self.gate("compare_and_swap");
        Box::pin(async move {
            gate.await?;
            self.inner
                .compare_and_swap(key, expected_old, new, self.ttl(ttl_ms))
                .await
        })
    }
}
