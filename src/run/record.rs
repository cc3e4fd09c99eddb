//! Recording a keyed execution, as a synchronous machine: a success is
//! written as the key's completed record; a failure frees the key (failures
//! are not cached); a success that cannot be recorded (its output is not
//! plain JSON, or the write fails) is still the run's result, reported
//! `store_failed`, and frees the key rather than leave it "in progress"
//! until its lease ends. The driver performs each step, bounded by the
//! grace period, and answers whether it worked.

use crate::reliability::idempotency::{Record, StoredResult};

/// How the execution ended, as recording sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Executed {
    /// It succeeded: the result to store, or why its output cannot be stored.
    Succeeded(Result<StoredResult, String>),
    /// It failed.
    Failed,
}

/// What recording asks for next.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordStep {
    /// Write `value` (the completed record) under the key for `ttl_ms`;
    /// answer with [`KeyRecord::written`].
    Write {
        /// The record.
        value: String,
        /// `idempotencyTtlMs`.
        ttl_ms: f64,
    },
    /// Delete the key; answer with [`KeyRecord::freed`].
    Free,
    /// Recording is over.
    Done {
        /// Whether the lease is gone from the store (replaced by the record, or deleted).
        freed: bool,
        /// Whether a success could not be recorded (an `idempotency` event `store_failed`).
        store_failed: bool,
    },
}

/// Recording one keyed execution.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    fingerprint: String,
    ttl_ms: f64,
    store_failed: bool,
}

impl KeyRecord {
    /// Recording for the key whose requests fingerprint as `fingerprint`;
    /// records are kept `ttl_ms`.
    pub fn new(fingerprint: &str, ttl_ms: f64) -> Self {
        Self {
            fingerprint: fingerprint.to_owned(),
            ttl_ms,
            store_failed: false,
        }
    }

    /// Input: the execution ended so, at wall time `wall_now`.
    pub fn executed(&mut self, executed: Executed, wall_now: f64) -> RecordStep {
        match executed {
            Executed::Succeeded(Ok(result)) => {
                let record = Record::completed(&self.fingerprint, wall_now + self.ttl_ms, result);
                RecordStep::Write {
                    value: record.to_json_string(),
                    ttl_ms: self.ttl_ms,
                }
            }
            Executed::Succeeded(Err(_)) => {
                self.store_failed = true;
                RecordStep::Free
            }
            Executed::Failed => RecordStep::Free,
        }
    }

    /// Input: the record's write worked (`ok`) or failed or timed out.
    pub fn written(&mut self, ok: bool) -> RecordStep {
        if ok {
            return self.done(true);
        }
        self.store_failed = true;
        RecordStep::Free
    }

    /// Input: the delete worked (`ok`) or failed or timed out.
    pub fn freed(&mut self, ok: bool) -> RecordStep {
        self.done(ok)
    }

    /// Whether a success could not be recorded (known as soon as it is decided).
    pub fn store_failed(&self) -> bool {
        self.store_failed
    }

    fn done(&self, freed: bool) -> RecordStep {
        RecordStep::Done {
            freed,
            store_failed: self.store_failed,
        }
    }
}
