//! Claiming an idempotency key, as a synchronous machine: read the key's
//! record, replay or refuse it, else write a lease with the strongest
//! operation the store has, and if another run won the write, read again.
//! The driver performs each read and [`Write`] and feeds the answer back
//! with the wall time; it decides nothing.
//!
//! A record kept past its own `expiresAt` (a store whose TTL is coarse, or a
//! dead leader's lease) is replaced: by compare-and-swap when the store has
//! an atomic one, so several runs racing to replace it still execute once;
//! otherwise by delete then put-if-absent, which two racing runs can both win.

use crate::model::error::ConflictReason;
use crate::reliability::idempotency::{classify, Found, Record};

/// What the store can do atomically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreCaps {
    /// Put-if-absent is a real compare-and-set.
    pub put_if_absent: bool,
    /// Compare-and-swap is a real compare-and-set.
    pub compare_and_swap: bool,
}

/// A write of the lease, for the driver to perform; answered with
/// [`KeyClaim::claimed`].
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Write `value` if the key holds nothing.
    PutIfAbsent {
        /// The lease.
        value: String,
        /// For about this long.
        ttl_ms: f64,
    },
    /// Write `value` if the key still holds `old`.
    CompareAndSwap {
        /// What the read found.
        old: String,
        /// The lease.
        value: String,
        /// For about this long.
        ttl_ms: f64,
    },
    /// Delete the key, then write `value` if absent (two runs can both win).
    DeleteThenPutIfAbsent {
        /// The lease.
        value: String,
        /// For about this long.
        ttl_ms: f64,
    },
    /// Write `value` whatever the key holds (a store without atomics): won once written.
    Put {
        /// The lease.
        value: String,
        /// For about this long.
        ttl_ms: f64,
    },
}

/// What the claim asks for next.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// Read the key's record; answer with [`KeyClaim::read`].
    Read,
    /// Write the lease so.
    Write(Write),
    /// The record settles the run: replay it, or refuse the key.
    Settled(Found),
    /// The key is this run's, under `lease` (the record it wrote): execute.
    Execute {
        /// The in-progress record now in the store.
        lease: String,
    },
}

/// One run's claim on a key.
#[derive(Clone, Debug)]
pub struct KeyClaim {
    fingerprint: String,
    conflict_detection: bool,
    caps: StoreCaps,
    /// A lease a stopped leader of this isolate left, which this run may replace.
    inherited: Option<String>,
    lease: Option<String>,
    /// Whether the claim's write was lost and the record is being read again.
    lost: bool,
}

impl KeyClaim {
    /// A claim on the key whose requests fingerprint as `fingerprint`.
    pub fn new(fingerprint: &str, conflict_detection: bool, caps: StoreCaps, inherited: Option<String>) -> Self {
        Self {
            fingerprint: fingerprint.to_owned(),
            conflict_detection,
            caps,
            inherited,
            lease: None,
            lost: false,
        }
    }

    /// Input: the claim begins. Reads the record.
    pub fn start(&mut self) -> Claim {
        Claim::Read
    }

    /// Input: the read found `stored`, at wall time `wall_now`; a lease
    /// written now lasts `lease_ms`.
    pub fn read(&mut self, stored: Option<String>, wall_now: f64, lease_ms: f64) -> Claim {
        if self.lost {
            // Another run claimed (or replaced) the key between our read and our write.
            return match self.classify(stored.as_deref(), wall_now) {
                Found::Miss => Claim::Settled(Found::Conflict(ConflictReason::InProgress)),
                settled => Claim::Settled(settled),
            };
        }
        let inherited = stored.is_some() && stored == self.inherited;
        if !inherited {
            let found = self.classify(stored.as_deref(), wall_now);
            if found != Found::Miss {
                return Claim::Settled(found);
            }
        }
        let value = Record::in_progress(&self.fingerprint, wall_now + lease_ms).to_json_string();
        self.lease = Some(value.clone());
        Claim::Write(self.write(stored, value, lease_ms))
    }

    /// Input: the claim's write answered: `won` when this run now holds the key.
    pub fn claimed(&mut self, won: bool) -> Claim {
        match self.lease.clone().filter(|_| won && !self.lost) {
            Some(lease) => Claim::Execute { lease },
            None => {
                self.lost = true;
                Claim::Read
            }
        }
    }

    fn classify(&self, stored: Option<&str>, wall_now: f64) -> Found {
        classify(stored, &self.fingerprint, self.conflict_detection, wall_now)
    }

    /// The strongest write the store has: over nothing, or over `old`.
    fn write(&self, old: Option<String>, value: String, ttl_ms: f64) -> Write {
        match old {
            None if self.caps.put_if_absent => Write::PutIfAbsent { value, ttl_ms },
            Some(old) if self.caps.compare_and_swap => Write::CompareAndSwap { old, value, ttl_ms },
            Some(_) if self.caps.put_if_absent => Write::DeleteThenPutIfAbsent { value, ttl_ms },
            _ => Write::Put { value, ttl_ms },
        }
    }
}
