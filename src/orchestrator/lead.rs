//! Leading a keyed execution: claim the key ([`KeyClaim`] decides: replay,
//! refuse, or write a lease that covers the whole run), execute, and record
//! the result or free the key ([`KeyRecord`] decides). This file performs
//! their store operations, each raced against the run's signal or bounded by
//! the grace period.

use std::future::Future;
use std::rc::Rc;

use futures::future::{self, Either};

use super::attempts::execute;
use super::config::StoreFailurePolicy;
use super::context::RunContext;
use super::keyed::{conflict, idempotency_event, settle_found, Keyed, Led};
use super::{Done, Failure, Outcome};
use crate::model::error::{ConflictReason, OrchestratorError};
use crate::model::event::IdempotencyOutcome;
use crate::model::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::{KvStore, StoreError};
use crate::reliability::idempotency::StoredResult;
use crate::reliability::timeout::until_aborted;
use crate::run::{Claim, Executed, KeyClaim, KeyRecord, RecordStep, StoreCaps, Write};

/// How long an in-progress record holds its key when the run has no deadline.
const DEFAULT_LEASE_MS: f64 = 300_000.0;
/// How long writing the final record may take after the tool ran.
const RECORD_GRACE_MS: f64 = 2_000.0;

/// Why the leader ends before executing.
enum Stop<V> {
    /// With this (a replay, a conflict, its own abort).
    Ended(Led<V>),
    /// The store failed: fail, or run without idempotency.
    Store(StoreError),
}

/// The leader: read, claim, execute, record. `inherited` is a lease a
/// stopped leader of this isolate left in the store, which this run may
/// replace; `stored`, the record's first read when another driver made it.
pub(super) async fn lead<V: Payload>(
    ctx: Rc<RunContext<V>>,
    request: V,
    candidates: Vec<PlanEntry>,
    keyed: Keyed,
    inherited: Option<String>,
    stored: Option<Result<Option<String>, StoreError>>,
) -> Led<V> {
    match claim_key(&ctx, &keyed, inherited.as_deref(), stored).await {
        Ok(lease) => {
            ctx.emit(|| idempotency_event(IdempotencyOutcome::Miss, &keyed.key));
            let outcome = execute(&ctx, &request, candidates).await;
            let freed = record(&ctx, &keyed, &outcome).await;
            settle(&ctx, outcome, (!freed).then_some(lease))
        }
        Err(Stop::Ended(led)) => led,
        Err(Stop::Store(error)) => {
            let outcome = store_failed(&ctx, &request, candidates, &keyed.key, error).await;
            settle(&ctx, outcome, None)
        }
    }
}

/// Whether a failure is the leader's own (its signal, deadline or budget)
/// rather than the execution's: followers then take over instead of sharing it.
fn own_stop<V>(ctx: &RunContext<V>, failure: &Failure<V>) -> bool
where
    V: Payload,
{
    ctx.signal.is_aborted() || matches!(failure.error, OrchestratorError::BudgetExceeded { .. })
}

/// The leader's outcome as joined runs see it.
fn settle<V: Payload>(ctx: &RunContext<V>, outcome: Outcome<V>, lease: Option<String>) -> Led<V> {
    match outcome {
        Err(failure) if own_stop(ctx, &failure) => Led::Stopped { failure, lease },
        outcome => Led::Shared(outcome),
    }
}

/// A store operation raced against the run's signal, when something can abort it (else
/// each operation registered a listener with a signal that never fires).
async fn guarded<V: Payload, T>(
    ctx: &RunContext<V>,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, Stop<V>> {
    let raced = if ctx.abortable {
        until_aborted(&ctx.signal, work).await
    } else {
        Ok(work.await)
    };
    match raced {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Stop::Store(error)),
        Err(reason) => Err(Stop::Ended(Led::Stopped {
            failure: Failure::from(ctx.stop_error(reason)),
            lease: None,
        })),
    }
}

/// Claims the key (the decisions are [`KeyClaim`]'s): reads the record,
/// then replays or refuses it, or writes a lease. Returns the lease written.
async fn claim_key<V: Payload>(
    ctx: &RunContext<V>,
    keyed: &Keyed,
    inherited: Option<&str>,
    mut first: Option<Result<Option<String>, StoreError>>,
) -> Result<String, Stop<V>> {
    let store = &*ctx.inner.store;
    let caps = StoreCaps {
        put_if_absent: store.atomic_put_if_absent(),
        compare_and_swap: store.atomic_compare_and_swap(),
    };
    let conflict_detection = ctx.inner.reliability.conflict_detection;
    let mut claim = KeyClaim::new(
        &keyed.fingerprint,
        conflict_detection,
        caps,
        inherited.map(str::to_owned),
    );
    let mut next = claim.start();
    loop {
        next = match next {
            Claim::Read => {
                let stored = match first.take() {
                    Some(read) => read.map_err(Stop::Store)?,
                    None => guarded(ctx, store.get(&keyed.skey)).await?,
                };
                claim.read(stored, ctx.inner.platform.clock.wall_ms(), lease_ms(ctx))
            }
            Claim::Write(write) => claim.claimed(guarded(ctx, perform(store, &keyed.skey, write)).await?),
            Claim::Execute { lease } => return Ok(lease),
            Claim::Settled(found) => {
                let outcome = settle_found(ctx, &keyed.key, found)
                    .unwrap_or_else(|| Err(conflict(ctx, &keyed.key, ConflictReason::InProgress)));
                return Err(Stop::Ended(Led::Shared(outcome)));
            }
        }
    }
}

/// The lease covers the rest of the run (its deadline or time budget) and
/// the final write, whatever `idempotencyTtlMs` is: the TTL governs
/// completed records only.
fn lease_ms<V: Payload>(ctx: &RunContext<V>) -> f64 {
    ctx.limits
        .deadline
        .map_or(DEFAULT_LEASE_MS, |d| d.at - ctx.now() + RECORD_GRACE_MS)
        .max(1.0)
}

/// Performs the claim's write; `true` when this run now holds the key.
async fn perform(store: &dyn KvStore, skey: &str, write: Write) -> Result<bool, StoreError> {
    match write {
        Write::PutIfAbsent { value, ttl_ms } => store.put_if_absent(skey, value, ttl_ms).await,
        Write::CompareAndSwap { old, value, ttl_ms } => store.compare_and_swap(skey, &old, value, ttl_ms).await,
        Write::DeleteThenPutIfAbsent { value, ttl_ms } => {
            store.delete(skey).await?;
            store.put_if_absent(skey, value, ttl_ms).await
        }
        Write::Put { value, ttl_ms } => store.put(skey, value, ttl_ms).await.map(|()| true),
    }
}

/// Records a success, or frees the key after a failure (the decisions are
/// [`KeyRecord`]'s). Returns whether the lease is gone from the store
/// (replaced by the record, or deleted).
async fn record<V: Payload>(ctx: &RunContext<V>, keyed: &Keyed, outcome: &Outcome<V>) -> bool {
    let store = &ctx.inner.store;
    let mut recording = KeyRecord::new(&keyed.fingerprint, ctx.inner.reliability.idempotency_ttl_ms);
    let executed = match outcome {
        Ok(done) => Executed::Succeeded(stored_result(done)),
        Err(_) => Executed::Failed,
    };
    let mut next = recording.executed(executed, ctx.inner.platform.clock.wall_ms());
    let mut reported = false;
    loop {
        // The result was paid for: it is returned though not recorded, and a retry under the
        // key will execute again, which the event tells the caller (before the key is freed).
        if recording.store_failed() && !reported {
            reported = true;
            ctx.emit(|| idempotency_event(IdempotencyOutcome::StoreFailed, &keyed.key));
        }
        next = match next {
            RecordStep::Write { value, ttl_ms } => {
                recording.written(within_grace(ctx, store.put(&keyed.skey, value, ttl_ms)).await.is_ok())
            }
            RecordStep::Free => recording.freed(within_grace(ctx, store.delete(&keyed.skey)).await.is_ok()),
            RecordStep::Done { freed, .. } => return freed,
        }
    }
}

/// A completed run's result as it is stored, or why its output cannot be.
fn stored_result<V: Payload>(done: &Done<V>) -> Result<StoredResult, String> {
    let output = done.output.to_record_json()?;
    Ok(StoredResult {
        output,
        tool_name: done.tool_name.clone(),
        attempts: done.attempts,
        usage: done.usage,
        cost_usd: done.cost_usd,
        message: done.message.clone(),
    })
}

/// Bounds a store write made after the tool ran: by the grace period, and by
/// the run's deadline, which stays hard (a write still pending then is left to
/// finish or fail on its own; the in-progress lease expires by itself).
async fn within_grace<V: Payload>(
    ctx: &RunContext<V>,
    write: impl Future<Output = Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let left = ctx
        .limits
        .deadline
        .map_or(RECORD_GRACE_MS, |d| (d.at - ctx.now()).max(0.0));
    let grace = ctx.inner.platform.sleeper.sleep(left.min(RECORD_GRACE_MS));
    match future::select(std::pin::pin!(write), grace).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(StoreError {
            operation: "put",
            message: "store did not answer in time".into(),
        }),
    }
}

/// The store failed before the tool ran: fail, or run without idempotency.
async fn store_failed<V: Payload>(
    ctx: &RunContext<V>,
    request: &V,
    candidates: Vec<PlanEntry>,
    key: &str,
    error: StoreError,
) -> Outcome<V> {
    ctx.emit(|| idempotency_event(IdempotencyOutcome::StoreFailed, key));
    match ctx.inner.reliability.idempotency_store_failure {
        StoreFailurePolicy::Fail => Err(Failure::from(OrchestratorError::Store(error))),
        StoreFailurePolicy::Proceed => execute(ctx, request, candidates).await,
    }
}
