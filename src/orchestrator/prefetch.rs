//! A keyed run whose first record read another driver makes: the TypeScript
//! driver plans it here ([`Orchestrator::begin_key_read`]), reads the record
//! itself, and gives the answer back ([`Orchestrator::key_read`]): a hit is
//! replayed here, without the async Rust driver; anything else (a miss, a
//! refusal, a failed read) is handed to the Rust driver with the plan and the
//! read ([`Orchestrator::run_prefetched`]), so nothing is planned or read
//! twice. The read is the one the claim would have made first (`KeyClaim`
//! classifies it the same way); it is not used if another execution started
//! in this isolate meanwhile, since that one may have written the key.

use std::future::Future;

use super::keyed::{idempotency_event, FirstRead, Keyed};
use super::{Orchestrator, RunOptions, RunResult};
use crate::model::error::{OrchestratorError, RunError};
use crate::model::event::IdempotencyOutcome;
use crate::model::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::StoreError;
use crate::reliability::idempotency::{classify, validate_key, Found};
use crate::trace::TraceIds;

/// A keyed run planned, its record not read yet.
pub struct KeyRead {
    candidates: Vec<PlanEntry>,
    keyed: Keyed,
    generation: u64,
}

impl KeyRead {
    /// The store key to read.
    pub fn store_key(&self) -> &str {
        &self.keyed.skey
    }
}

/// What a keyed run's first read gave.
pub enum Answered<V> {
    /// A hit: the run's result.
    Hit(RunResult<V>),
    /// Anything else: the run for [`Orchestrator::run_prefetched`].
    Handed(Prefetched),
}

/// A keyed run for the Rust driver, with its plan and its record's first read.
pub struct Prefetched {
    pub(super) candidates: Vec<PlanEntry>,
    pub(super) first: FirstRead,
}

impl<V: Payload> Orchestrator<V> {
    /// Plans a keyed run for a driver that reads its record itself. `options`
    /// hold ids and the key alone (no signal, deadline or stream: nothing may
    /// end the read early). `None` when the run is not keyed, cannot be
    /// planned or fingerprinted (the Rust driver reports why), or an execution
    /// under its key is under way here (the Rust driver joins it).
    pub fn begin_key_read(&self, request: &V, options: &RunOptions<V>) -> Option<KeyRead> {
        let inner = &self.inner;
        let key = options
            .idempotency_key
            .clone()
            .filter(|_| inner.reliability.idempotency_enabled)?;
        validate_key(&key).ok()?;
        let candidates = self.run_candidates(request, options).ok()?;
        let keyed = Keyed::of(request, &candidates, key).ok()?;
        if inner.flights.is_running(&keyed.skey) {
            return None;
        }
        Some(KeyRead {
            candidates,
            keyed,
            generation: inner.flights.started(),
        })
    }

    /// The read answered `stored` at wall time `wall_now`. A hit is the run's
    /// result (under `ids`, `started` on the monotonic clock), its `idempotency`
    /// event emitted; anything else is the run for [`Self::run_prefetched`].
    pub fn key_read(
        &self,
        read: KeyRead,
        stored: Result<Option<String>, StoreError>,
        wall_now: f64,
        ids: &TraceIds,
        started: f64,
    ) -> Answered<V> {
        let inner = &self.inner;
        let conflict_detection = inner.reliability.conflict_detection;
        let found = stored
            .as_ref()
            .ok()
            .map(|s| classify(s.as_deref(), &read.keyed.fingerprint, conflict_detection, wall_now));
        // An output that does not convert is the Rust driver's to report.
        let replayed = match found {
            Some(Found::Replay(record)) => V::from_json(record.output.clone()).ok().map(|o| (record, o)),
            _ => None,
        };
        let Some((record, output)) = replayed else {
            let first = FirstRead {
                keyed: read.keyed,
                generation: read.generation,
                stored,
            };
            return Answered::Handed(Prefetched {
                candidates: read.candidates,
                first,
            });
        };
        let event = idempotency_event(IdempotencyOutcome::Hit, &read.keyed.key);
        self.emit_events(Some(ids), vec![event]);
        Answered::Hit(RunResult {
            output,
            tool_name: record.tool_name,
            attempts: record.attempts,
            cached: true,
            usage: record.usage,
            cost_usd: record.cost_usd,
            message: record.message,
            trace_id: ids.trace_id.clone(),
            request_id: ids.request_id.clone(),
            elapsed_ms: inner.platform.clock.now_ms() - started,
            finish_reason: None,
        })
    }

    /// The tools a run may go to, before breakers are considered.
    pub(super) fn run_candidates(
        &self,
        request: &V,
        options: &RunOptions<V>,
    ) -> Result<Vec<PlanEntry>, OrchestratorError> {
        self.candidates(request, options.tool_name.as_deref(), options.tool_options.as_ref())
    }

    /// Runs a keyed run [`Self::key_read`] handed over, as [`Self::run`] does.
    pub fn run_prefetched(
        &self,
        request: V,
        options: RunOptions<V>,
        prefetched: Prefetched,
    ) -> impl Future<Output = Result<RunResult<V>, RunError<V>>> + 'static {
        let this = self.clone();
        async move { this.run_owned(request, options, Some(prefetched)).await }
    }
}
