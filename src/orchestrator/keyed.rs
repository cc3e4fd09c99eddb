//! The idempotent path of a run: join an execution under way in this
//! isolate, or lead one ([`super::lead`]: replay a stored result, refuse a
//! conflicting key, or claim the key, execute, and record the result).
//!
//! A joined run ends only by its own signal or deadline: when the leader
//! stops on its own account (its signal, deadline or budget), the followers
//! do not share that stop; one of them leads a new execution under its own
//! limits and the others join it.

use std::rc::Rc;

use futures::future::FutureExt;

use super::context::RunContext;
use super::lead::lead;
use super::{Done, Failure, Outcome};
use crate::model::error::{ConflictReason, OrchestratorError};
use crate::model::event::{EventKind, IdempotencyOutcome};
use crate::model::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::StoreError;
use crate::reliability::idempotency::{fingerprint, follow_by_polling, store_key, Flight, Found, Joined, StoredResult};
use crate::reliability::timeout::until_aborted;

/// What an execution under a key gives the runs that joined it.
#[derive(Clone, Debug)]
pub(crate) enum Led<V> {
    /// The execution's outcome, for every run that joined it.
    Shared(Outcome<V>),
    /// The leader stopped on its own account (its signal, deadline or
    /// budget): that failure is its alone. `lease` is the in-progress record
    /// it may have left in the store (it could not free the key), which the
    /// run taking over may replace.
    Stopped { failure: Failure<V>, lease: Option<String> },
}

impl<V> Led<V> {
    /// The leader's own result.
    fn into_outcome(self) -> Outcome<V> {
        match self {
            Self::Shared(outcome) => outcome,
            Self::Stopped { failure, .. } => Err(failure),
        }
    }
}

/// What a keyed execution is about: the caller's key, its store key, and the fingerprint.
#[derive(Clone)]
pub(super) struct Keyed {
    pub key: String,
    pub skey: String,
    pub fingerprint: String,
}

impl Keyed {
    /// `request` under `key`, planned as `candidates`.
    pub(super) fn of<V: Payload>(
        request: &V,
        candidates: &[PlanEntry],
        key: String,
    ) -> Result<Self, OrchestratorError> {
        // The fingerprint names the tool the rules chose before breakers are
        // considered, so a breaker changing state never turns a replay into a conflict.
        let intended = candidates.first().ok_or(OrchestratorError::NoTool)?;
        let request_json = request
            .to_json()
            .map_err(|m| OrchestratorError::request("request", m))?;
        Ok(Self {
            fingerprint: fingerprint(&request_json, &intended.tool_name, &intended.options),
            skey: store_key(&key),
            key,
        })
    }
}

/// The record read another driver made for a keyed run (see `prefetch.rs`):
/// good for its first read if no execution started here since.
pub(super) struct FirstRead {
    pub keyed: Keyed,
    /// [`crate::reliability::idempotency::SingleFlight::started`] before the read.
    pub generation: u64,
    pub stored: Result<Option<String>, StoreError>,
}

/// Runs `candidates` once per `key`; `first` is the record read another
/// driver made for it (its key's fingerprint and store key with it).
pub(super) async fn run_keyed<V: Payload>(
    ctx: Rc<RunContext<V>>,
    request: V,
    candidates: Vec<PlanEntry>,
    key: String,
    first: Option<FirstRead>,
) -> Outcome<V> {
    let (keyed, mut first) = match first {
        Some(FirstRead {
            keyed,
            generation,
            stored,
        }) => (keyed, Some((generation, stored))),
        None => (Keyed::of(&request, &candidates, key).map_err(Failure::from)?, None),
    };
    let inner = Rc::clone(&ctx.inner);
    let conflict_detection = inner.reliability.conflict_detection;
    // A lease left behind by a leader of this isolate that stopped on its own account.
    let mut inherited: Option<String> = None;
    loop {
        // A read made before another execution started here may be stale: that one may
        // have written the key since. Taken before joining (leading starts one).
        let stored = first
            .take()
            .filter(|(generation, _)| *generation == inner.flights.started())
            .map(|(_, stored)| stored);
        let start = {
            let (ctx, request, candidates, keyed) =
                (Rc::clone(&ctx), request.clone(), candidates.clone(), keyed.clone());
            let inherited = inherited.take();
            move || lead(ctx, request, candidates, keyed, inherited, stored).boxed_local()
        };
        match inner
            .flights
            .join(&keyed.skey, &keyed.fingerprint, conflict_detection, start)
        {
            // The leader's execution watches its own signal and cleans up after itself.
            Joined::Leader(flight) => {
                let _streaming = ctx
                    .stream
                    .as_ref()
                    .map(|run| LiveStream::register(&inner, &keyed.skey, run));
                return flight.await.into_outcome();
            }
            Joined::Follower(flight) => {
                ctx.emit(|| idempotency_event(IdempotencyOutcome::Joined, &keyed.key));
                // Where another request's I/O cannot wake this one (workerd), it waits
                // for the result instead of receiving chunks.
                if let (Some(run), None) = (&ctx.stream, inner.platform.join_poll_ms) {
                    if let Some(leading) = inner.streams.borrow().get(&keyed.skey) {
                        leading.add_follower(Rc::clone(run));
                    }
                }
                match follow(&ctx, flight).await? {
                    Led::Shared(shared) => return shared.map(|done| Done { cached: true, ..done }),
                    // Not this run's stop: take over (or join whoever took over first).
                    Led::Stopped { lease, .. } => inherited = lease,
                }
            }
            Joined::Conflict => return Err(conflict(&ctx, &keyed.key, ConflictReason::FingerprintMismatch)),
        }
    }
}

/// A leading streaming execution, findable by its followers until dropped.
struct LiveStream<'a, V: Payload> {
    inner: &'a super::Inner<V>,
    skey: String,
    run: Rc<super::streaming::StreamRun>,
}

impl<'a, V: Payload> LiveStream<'a, V> {
    fn register(inner: &'a super::Inner<V>, skey: &str, run: &Rc<super::streaming::StreamRun>) -> Self {
        inner.streams.borrow_mut().insert(skey.to_owned(), Rc::clone(run));
        Self {
            inner,
            skey: skey.to_owned(),
            run: Rc::clone(run),
        }
    }
}

impl<V: Payload> Drop for LiveStream<'_, V> {
    fn drop(&mut self) {
        let mut streams = self.inner.streams.borrow_mut();
        if streams.get(&self.skey).is_some_and(|r| Rc::ptr_eq(r, &self.run)) {
            streams.remove(&self.skey);
        }
    }
}

/// Waits for the leader's execution, until this run's own signal aborts.
async fn follow<V: Payload>(ctx: &RunContext<V>, flight: Flight<Led<V>>) -> Result<Led<V>, Failure<V>> {
    let platform = &ctx.inner.platform;
    let waiting = match platform.join_poll_ms {
        Some(every_ms) => follow_by_polling(flight, Rc::clone(&platform.sleeper), every_ms).boxed_local(),
        None => flight.boxed_local(),
    };
    until_aborted(&ctx.signal, waiting)
        .await
        .map_err(|reason| Failure::from(ctx.stop_error(reason)))
}

pub(super) fn idempotency_event(outcome: IdempotencyOutcome, key: &str) -> EventKind {
    EventKind::Idempotency {
        outcome,
        key: key.into(),
    }
}

pub(super) fn conflict<V: Payload>(ctx: &RunContext<V>, key: &str, reason: ConflictReason) -> Failure<V> {
    ctx.emit(|| idempotency_event(IdempotencyOutcome::Conflict, key));
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
        finish_reason: None,
        message: stored.message,
    })
}

/// What a found record means: replay it, refuse, or go on.
pub(super) fn settle_found<V: Payload>(ctx: &RunContext<V>, key: &str, found: Found) -> Option<Outcome<V>> {
    match found {
        Found::Replay(stored) => {
            ctx.emit(|| idempotency_event(IdempotencyOutcome::Hit, key));
            Some(replay(stored))
        }
        Found::Conflict(reason) => Some(Err(conflict(ctx, key, reason))),
        Found::Miss => None,
    }
}
