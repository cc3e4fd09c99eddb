//! `KeyClaim`: the outcomes of reading a key's record (miss, replay,
//! fingerprint mismatch, in progress, expired, unreadable, inherited), the
//! write each kind of store gets, and a lost write read again. `KeyRecord`:
//! a success recorded, a failure freeing the key, a success that cannot be
//! recorded.

use reliable_orchestrator::reliability::idempotency::{Found, Record, StoredResult};
use reliable_orchestrator::run::{Claim, KeyClaim, StoreCaps, Write};
use reliable_orchestrator::{ConflictReason, Usage};

const NOW: f64 = 1_700_000_000_000.0;
const LEASE_MS: f64 = 30_000.0;
const FP: &str = "fingerprint-of-this-request";

const ATOMIC: StoreCaps = StoreCaps {
    put_if_absent: true,
    compare_and_swap: true,
};
const PUT_IF_ABSENT_ONLY: StoreCaps = StoreCaps {
    put_if_absent: true,
    compare_and_swap: false,
};
const PLAIN: StoreCaps = StoreCaps {
    put_if_absent: false,
    compare_and_swap: false,
};

fn claim(caps: StoreCaps) -> KeyClaim {
    let mut claim = KeyClaim::new(FP, true, caps, None);
    assert_eq!(claim.start(), Claim::Read);
    claim
}

fn lease() -> String {
    Record::in_progress(FP, NOW + LEASE_MS).to_json_string()
}

fn result() -> StoredResult {
    StoredResult {
        output: serde_json::json!({ "answer": 42 }),
        tool_name: "quick".into(),
        attempts: 2,
        usage: Usage::default(),
        cost_usd: None,
        message: None,
    }
}

fn completed(fingerprint: &str, expires_at: f64) -> String {
    Record::completed(fingerprint, expires_at, result()).to_json_string()
}

#[test]
fn a_free_key_is_claimed_with_put_if_absent_then_executed() {
    let mut c = claim(ATOMIC);
    let write = c.read(None, NOW, LEASE_MS);
    assert_eq!(
        write,
        Claim::Write(Write::PutIfAbsent {
            value: lease(),
            ttl_ms: LEASE_MS
        })
    );
    assert_eq!(c.claimed(true), Claim::Execute { lease: lease() });
}

#[test]
fn a_completed_record_of_the_same_request_is_replayed() {
    let mut c = claim(ATOMIC);
    let read = c.read(Some(completed(FP, NOW + 1.0)), NOW, LEASE_MS);
    assert_eq!(read, Claim::Settled(Found::Replay(result())));
}

#[test]
fn a_record_of_another_request_is_refused_unless_conflicts_are_not_detected() {
    let mut c = claim(ATOMIC);
    let read = c.read(Some(completed("another", NOW + 1.0)), NOW, LEASE_MS);
    assert_eq!(
        read,
        Claim::Settled(Found::Conflict(ConflictReason::FingerprintMismatch))
    );
    let mut lenient = KeyClaim::new(FP, false, ATOMIC, None);
    lenient.start();
    let read = lenient.read(Some(completed("another", NOW + 1.0)), NOW, LEASE_MS);
    assert_eq!(read, Claim::Settled(Found::Replay(result())));
}

#[test]
fn a_live_lease_of_another_run_is_in_progress() {
    let mut c = claim(ATOMIC);
    let held = Record::in_progress(FP, NOW + 5.0).to_json_string();
    assert_eq!(
        c.read(Some(held), NOW, LEASE_MS),
        Claim::Settled(Found::Conflict(ConflictReason::InProgress))
    );
}

#[test]
fn an_expired_or_unreadable_record_is_replaced_with_the_strongest_write_the_store_has() {
    for old in [
        completed(FP, NOW),
        "not json".to_owned(),
        Record::in_progress(FP, NOW - 1.0).to_json_string(),
    ] {
        let mut c = claim(ATOMIC);
        let swap = Write::CompareAndSwap {
            old: old.clone(),
            value: lease(),
            ttl_ms: LEASE_MS,
        };
        assert_eq!(c.read(Some(old.clone()), NOW, LEASE_MS), Claim::Write(swap), "{old}");
        let mut c = claim(PUT_IF_ABSENT_ONLY);
        let replace = Write::DeleteThenPutIfAbsent {
            value: lease(),
            ttl_ms: LEASE_MS,
        };
        assert_eq!(c.read(Some(old.clone()), NOW, LEASE_MS), Claim::Write(replace));
        let mut c = claim(PLAIN);
        let put = Write::Put {
            value: lease(),
            ttl_ms: LEASE_MS,
        };
        assert_eq!(c.read(Some(old), NOW, LEASE_MS), Claim::Write(put));
    }
}

#[test]
fn a_store_without_atomics_claims_a_free_key_with_a_plain_put() {
    let mut c = claim(PLAIN);
    let put = Write::Put {
        value: lease(),
        ttl_ms: LEASE_MS,
    };
    assert_eq!(c.read(None, NOW, LEASE_MS), Claim::Write(put));
    assert_eq!(c.claimed(true), Claim::Execute { lease: lease() });
}

#[test]
fn the_lease_a_stopped_leader_left_is_taken_over_not_refused() {
    let left = Record::in_progress(FP, NOW + 60_000.0).to_json_string();
    let mut c = KeyClaim::new(FP, true, ATOMIC, Some(left.clone()));
    c.start();
    let swap = Write::CompareAndSwap {
        old: left.clone(),
        value: lease(),
        ttl_ms: LEASE_MS,
    };
    assert_eq!(c.read(Some(left), NOW, LEASE_MS), Claim::Write(swap));
    // Anyone else's live lease is still in progress.
    let mut c = KeyClaim::new(FP, true, ATOMIC, Some("a lease no longer there".into()));
    c.start();
    let other = Record::in_progress(FP, NOW + 60_000.0).to_json_string();
    assert_eq!(
        c.read(Some(other), NOW, LEASE_MS),
        Claim::Settled(Found::Conflict(ConflictReason::InProgress))
    );
}

#[test]
fn a_lost_write_reads_again_a_result_replays_anything_else_is_in_progress() {
    let lost = |then: Option<String>| {
        let mut c = claim(ATOMIC);
        assert!(matches!(
            c.read(None, NOW, LEASE_MS),
            Claim::Write(Write::PutIfAbsent { .. })
        ));
        assert_eq!(c.claimed(false), Claim::Read);
        c.read(then, NOW, LEASE_MS)
    };
    assert_eq!(
        lost(Some(completed(FP, NOW + 1.0))),
        Claim::Settled(Found::Replay(result()))
    );
    let other = Record::in_progress(FP, NOW + 5.0).to_json_string();
    assert_eq!(
        lost(Some(other)),
        Claim::Settled(Found::Conflict(ConflictReason::InProgress))
    );
    // Gone again by the second read: still somebody else's claim, never a second write.
    assert_eq!(lost(None), Claim::Settled(Found::Conflict(ConflictReason::InProgress)));
    assert_eq!(
        lost(Some(completed("another", NOW + 1.0))),
        Claim::Settled(Found::Conflict(ConflictReason::FingerprintMismatch))
    );
}

mod recording {
    use super::{completed, result, FP, NOW};
    use reliable_orchestrator::run::{Executed, KeyRecord, RecordStep};

    const TTL_MS: f64 = 3_600_000.0;

    fn done(freed: bool, store_failed: bool) -> RecordStep {
        RecordStep::Done { freed, store_failed }
    }

    #[test]
    fn a_success_is_written_as_the_completed_record() {
        let mut r = KeyRecord::new(FP, TTL_MS);
        let write = r.executed(Executed::Succeeded(Ok(result())), NOW);
        assert_eq!(
            write,
            RecordStep::Write {
                value: completed(FP, NOW + TTL_MS),
                ttl_ms: TTL_MS
            }
        );
        assert_eq!(r.written(true), done(true, false));
    }

    #[test]
    fn a_failure_frees_the_key_and_is_not_cached() {
        let mut r = KeyRecord::new(FP, TTL_MS);
        assert_eq!(r.executed(Executed::Failed, NOW), RecordStep::Free);
        assert_eq!(r.freed(true), done(true, false));
        let mut r = KeyRecord::new(FP, TTL_MS);
        r.executed(Executed::Failed, NOW);
        // A delete that fails leaves the lease to expire: no `store_failed`, nothing was paid for.
        assert_eq!(r.freed(false), done(false, false));
    }

    #[test]
    fn a_success_that_cannot_be_recorded_is_store_failed_and_frees_the_key() {
        let mut r = KeyRecord::new(FP, TTL_MS);
        let unstorable = Executed::Succeeded(Err("holds a Map".into()));
        assert_eq!(r.executed(unstorable, NOW), RecordStep::Free);
        assert_eq!(r.freed(true), done(true, true));
        let mut r = KeyRecord::new(FP, TTL_MS);
        r.executed(Executed::Succeeded(Ok(result())), NOW);
        assert_eq!(r.written(false), RecordStep::Free, "a failed write frees the key");
        assert_eq!(r.freed(false), done(false, true));
    }
}
