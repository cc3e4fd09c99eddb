//! The idempotent path of a run: join an execution under way in this
//! isolate, replay a stored result, refuse a conflicting key, or claim the
//! key, execute, and record the result.

use std::rc::Rc;

use futures::future::{self, Either, FutureExt};

use super::attempts::execute;
use super::config::StoreFailurePolicy;
use super::context::RunContext;
use super::{Done, Failure, Outcome};
use crate::error::{ConflictReason, OrchestratorError};
use crate::event::EventKind;
use crate::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::StoreError;
use crate::reliability::idempotency::{
    classify, fingerprint, follow_by_polling, store_key, Found, Joined, Record, StoredResult,
};
use crate::reliability::timeout::until_aborted;

/// How long an in-progress record holds its key when the run has no deadline.
const DEFAULT_LEASE_MS: f64 = 300_000.0;
/// How long writing the final record may take after the tool ran.
const RECORD_GRACE_MS: f64 = 2_000.0;

/// Runs `candidates` once per `key`.
pub(super) async fn run_keyed<V: Payload>(
    ctx: Rc<RunContext<V>>,
    request: V,
    candidates: Vec<PlanEntry>,
    key: String,
) -> Outcome<V> {
    // The fingerprint names the tool the rules chose before breakers are
    // considered, so a breaker changing state never turns a replay into a conflict.
    let intended = candidates
        .first()
        .ok_or_else(|| Failure::from(OrchestratorError::NoTool))?;
    let request_json = request
        .to_json()
        .map_err(|m| Failure::from(OrchestratorError::request("request", m)))?;
    let fingerprint = fingerprint(&request_json, &intended.tool_name, &intended.options);
    let skey = store_key(&key);
    let inner = Rc::clone(&ctx.inner);
    let conflict_detection = inner.reliability.conflict_detection;
    let leader_ctx = Rc::clone(&ctx);
    let leader_key = key.clone();
    let leader_fp = fingerprint.clone();
    let leader_skey = skey.clone();
    let joined = inner.flights.join(&skey, &fingerprint, conflict_detection, move || {
        lead(leader_ctx, request, candidates, leader_key, leader_skey, leader_fp).boxed_local()
    });
    match joined {
        // The leader's execution watches its own signal and cleans up after itself.
        Joined::Leader(flight) => flight.await,
        Joined::Follower(flight) => {
            ctx.emit(|| idempotency_event("joined", &key));
            let waiting = match inner.platform.join_poll_ms {
                Some(every_ms) => follow_by_polling(flight, Rc::clone(&inner.platform.sleeper), every_ms).boxed_local(),
                None => flight.boxed_local(),
            };
            let shared = until_aborted(&ctx.signal, waiting)
                .await
                .map_err(|reason| Failure::from(ctx.stop_error(reason)))?;
            shared.map(|done| Done { cached: true, ..done })
        }
        Joined::Conflict => Err(conflict(&ctx, &key, ConflictReason::FingerprintMismatch)),
    }
}

fn idempotency_event(outcome: &str, key: &str) -> EventKind {
    EventKind::Idempotency {
        outcome: outcome.into(),
        key: key.into(),
    }
}

fn conflict<V: Payload>(ctx: &RunContext<V>, key: &str, reason: ConflictReason) -> Failure<V> {
    ctx.emit(|| idempotency_event("conflict", key));
    Failure::from(OrchestratorError::Conflict {
        key: key.to_owned(),
        reason,
    })
}

/// A stored result as this run's result.
fn replay<V: Payload>(stored: StoredResult) -> Outcome<V> {
    let output = V::from_json(stored.output).map_err(|m| {
        Failure::from(OrchestratorError::request(
            "idempotencyKey",
            format!("stored output unreadable: {m}"),
        ))
    })?;
    Ok(Done {
        output,
        tool_name: stored.tool_name,
        attempts: stored.attempts,
        cached: true,
        usage: stored.usage,
        cost_usd: stored.cost_usd,
    })
}

/// What a found record means: replay it, refuse, or go on.
fn settle_found<V: Payload>(ctx: &RunContext<V>, key: &str, found: Found) -> Option<Outcome<V>> {
    match found {
        Found::Replay(stored) => {
            ctx.emit(|| idempotency_event("hit", key));
            Some(replay(stored))
        }
        Found::Conflict(reason) => Some(Err(conflict(ctx, key, reason))),
        Found::Miss => None,
    }
}

/// The leader: read, claim, execute, record.
async fn lead<V: Payload>(
    ctx: Rc<RunContext<V>>,
    request: V,
    candidates: Vec<PlanEntry>,
    key: String,
    skey: String,
    fingerprint: String,
) -> Outcome<V> {
    let inner = Rc::clone(&ctx.inner);
    let store = Rc::clone(&inner.store);
    let clock = Rc::clone(&inner.platform.clock);
    let conflict_detection = inner.reliability.conflict_detection;
    let stopped = |reason| Failure::from(ctx.stop_error(reason));

    let read = until_aborted(&ctx.signal, store.get(&skey)).await.map_err(stopped)?;
    let stored = match read {
        Ok(stored) => stored,
        Err(error) => return store_failed(&ctx, &request, candidates, &key, error).await,
    };
    let found = classify(stored.as_deref(), &fingerprint, conflict_detection, clock.wall_ms());
    if let Some(outcome) = settle_found(&ctx, &key, found) {
        return outcome;
    }

    // The lease covers the rest of the run (its deadline or time budget) and the final write.
    let run_left = ctx
        .deadline
        .map_or(DEFAULT_LEASE_MS, |d| d.at - ctx.now() + RECORD_GRACE_MS);
    let lease_ms = run_left.min(inner.reliability.idempotency_ttl_ms).max(1.0);
    let claim = Record::in_progress(&fingerprint, clock.wall_ms() + lease_ms).to_json_string();
    let claimed = if store.atomic_put_if_absent() {
        until_aborted(&ctx.signal, store.put_if_absent(&skey, claim, lease_ms))
            .await
            .map_err(stopped)?
    } else {
        until_aborted(&ctx.signal, store.put(&skey, claim, lease_ms))
            .await
            .map_err(stopped)?
            .map(|()| true)
    };
    match claimed {
        Ok(true) => {}
        Ok(false) => {
            // Another isolate claimed the key between our read and our write.
            let again = until_aborted(&ctx.signal, store.get(&skey)).await.map_err(stopped)?;
            let found = match again {
                Ok(stored) => classify(stored.as_deref(), &fingerprint, conflict_detection, clock.wall_ms()),
                Err(error) => return store_failed(&ctx, &request, candidates, &key, error).await,
            };
            return settle_found(&ctx, &key, found)
                .unwrap_or_else(|| Err(conflict(&ctx, &key, ConflictReason::InProgress)));
        }
        Err(error) => return store_failed(&ctx, &request, candidates, &key, error).await,
    }
    ctx.emit(|| idempotency_event("miss", &key));

    let outcome = execute(&ctx, &request, candidates).await;
    let ttl_ms = inner.reliability.idempotency_ttl_ms;
    let written = match &outcome {
        Ok(done) => match done.output.to_record_json() {
            Ok(output) => {
                let result = StoredResult {
                    output,
                    tool_name: done.tool_name.clone(),
                    attempts: done.attempts,
                    usage: done.usage,
                    cost_usd: done.cost_usd,
                };
                let record = Record::completed(&fingerprint, clock.wall_ms() + ttl_ms, result).to_json_string();
                within_grace(&ctx, store.put(&skey, record, ttl_ms)).await
            }
            Err(message) => Err(StoreError {
                operation: "put",
                message: format!("output cannot be stored: {message}"),
            }),
        },
        // Failures are not cached: free the key for the next try.
        Err(_) => within_grace(&ctx, store.delete(&skey)).await,
    };
    if written.is_err() && outcome.is_ok() {
        // The result was paid for: return it even though it is not recorded. Free the
        // key too (best effort), rather than leave it "in progress" until the lease ends:
        // a retry under it will execute again, which the event tells the caller.
        ctx.emit(|| idempotency_event("store_failed", &key));
        let _ = within_grace(&ctx, store.delete(&skey)).await;
    }
    outcome
}

/// Bounds a store write made after the tool ran: by the grace period, and by
/// the run's deadline, which stays hard (a write still pending then is left to
/// finish or fail on its own; the in-progress lease expires by itself).
async fn within_grace<V: Payload>(
    ctx: &RunContext<V>,
    write: impl std::future::Future<Output = Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let left = ctx.deadline.map_or(RECORD_GRACE_MS, |d| (d.at - ctx.now()).max(0.0));
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
    ctx.emit(|| idempotency_event("store_failed", key));
    match ctx.inner.reliability.idempotency_store_failure {
        StoreFailurePolicy::Fail => Err(Failure::from(OrchestratorError::Store(error))),
        StoreFailurePolicy::Proceed => execute(ctx, request, candidates).await,
    }
}
