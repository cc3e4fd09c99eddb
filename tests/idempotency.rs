//! Idempotency: replay, conflicts, in-progress leases across isolates,
//! failures not cached, TTL expiry, single-flight under concurrency, store
//! failures, and what reaches the store.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;
#[path = "idempotency/hardening.rs"]
mod hardening;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use futures::future::LocalBoxFuture;
use reliable_orchestrator::testing::{FlakyKv, ScriptedTool, Step, VirtualClock};
use reliable_orchestrator::{KvStore, MemoryKv, OrchestratorError, RunError, RunResult, StoreError};
use serde_json::{json, Value};

fn config(extra: Value) -> Value {
    let mut base = json!({
        "planner": { "rules": [{ "keywords": ["deep"], "toolName": "primary" }] },
        "defaultTools": ["backup"],
        "reliability": { "retryPolicy": { "maxAttempts": 1 }, "circuitBreakers": { "default": { "failureThreshold": 1 } } },
    });
    if let (Some(rel), Some(extra)) = (base["reliability"].as_object_mut(), extra.as_object()) {
        rel.extend(extra.clone());
    }
    base
}

fn setup(
    clock: &Rc<VirtualClock>,
    primary: ScriptedTool,
    extra: Value,
    store: Option<Rc<dyn KvStore>>,
) -> (Harness, Rc<ScriptedTool>, Rc<ScriptedTool>) {
    let primary = Rc::new(primary);
    let backup = tool("backup", clock);
    let h = harness(
        clock,
        config(extra),
        &[("primary", &primary), ("backup", &backup)],
        store,
    );
    (h, primary, backup)
}

fn conflict_reason(e: &RunError<Value>) -> &'static str {
    match &e.error {
        OrchestratorError::Conflict { reason, .. } => reason.as_str(),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn completed_runs_replay_without_executing() {
    let clock = clock();
    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock)
            .then(ok("first"))
            .otherwise(ok("second")),
        json!({}),
        None,
    );
    let request = json!({ "query": "deep dive", "metadata": { "a": 1, "b": 2 } });
    let first = h
        .run(request.clone(), json!({ "idempotencyKey": "analysis-123" }))
        .unwrap();
    assert!(!first.cached);
    // Same request with keys in another order.
    let again = h
        .run(
            json!({ "metadata": { "b": 2, "a": 1 }, "query": "deep dive" }),
            json!({ "idempotency_key": "analysis-123", "requestId": "r2" }),
        )
        .unwrap();
    assert!(again.cached);
    assert_eq!(
        (again.output.as_str(), again.tool_name.as_str(), again.attempts),
        (Some("first"), "primary", 1)
    );
    assert_eq!(again.request_id, "r2", "a replay carries this run's ids");
    assert_eq!(primary.call_count(), 1);
    let outcomes = h.field_of("idempotency", "outcome");
    assert_eq!(outcomes, vec![json!("miss"), json!("hit")]);
}

#[test]
fn another_request_under_a_used_key_conflicts_unless_detection_is_off() {
    let clock = clock();
    let (h, primary, _) = setup(&clock, ScriptedTool::new("openai", &clock), json!({}), None);
    h.run(json!("deep one"), json!({ "idempotencyKey": "k" })).unwrap();
    let e = h.run(json!("deep two"), json!({ "idempotencyKey": "k" })).unwrap_err();
    assert_eq!((e.code(), conflict_reason(&e)), ("conflict", "fingerprint_mismatch"));
    // Other tool options are another request too.
    let e = h
        .run(
            json!("deep one"),
            json!({ "idempotencyKey": "k", "toolOptions": { "k": 1 } }),
        )
        .unwrap_err();
    assert_eq!(e.code(), "conflict");
    assert_eq!(primary.call_count(), 1);

    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock).then(ok("stored")),
        json!({ "conflictDetection": false }),
        None,
    );
    h.run(json!("deep one"), json!({ "idempotencyKey": "k" })).unwrap();
    let r = h.run(json!("deep two"), json!({ "idempotencyKey": "k" })).unwrap();
    assert_eq!((r.cached, r.output.as_str()), (true, Some("stored")));
    assert_eq!(primary.call_count(), 1);
}

#[test]
fn in_progress_elsewhere_is_a_conflict_and_its_lease_expires() {
    let clock = clock();
    let store: Rc<dyn KvStore> = Rc::new(MemoryKv::new(clock.clone()));
    let slow = ScriptedTool::new("openai", &clock).otherwise(Step::After(5_000.0, Box::new(ok("slow"))));
    let (isolate_a, _, _) = setup(&clock, slow, json!({}), Some(store.clone()));
    let (isolate_b, b_primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        json!({}),
        Some(store.clone()),
    );
    let a = isolate_a.orchestrator.run(
        json!("deep"),
        reliable_orchestrator::RunOptions::from_json(&json!({ "idempotencyKey": "shared", "timeoutMs": 60000 }))
            .unwrap(),
    );
    let b = {
        let clock = clock.clone();
        let run = isolate_b.orchestrator.run(
            json!("deep"),
            reliable_orchestrator::RunOptions::from_json(&json!({ "idempotencyKey": "shared" })).unwrap(),
        );
        async move {
            reliable_orchestrator::Sleeper::sleep(&*clock, 1000.0).await;
            run.await
        }
    };
    let results: Vec<Result<RunResult<Value>, RunError<Value>>> =
        clock.run_all(vec![Box::pin(a), Box::pin(b)]).unwrap();
    assert_eq!(results[0].as_ref().unwrap().output, json!("slow"));
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(conflict_reason(e), "in_progress");
    assert_eq!(b_primary.call_count(), 0);
    // Once A completed, B replays A's result.
    let r = isolate_b
        .run(json!("deep"), json!({ "idempotencyKey": "shared" }))
        .unwrap();
    assert_eq!((r.cached, r.output.as_str()), (true, Some("slow")));
}

#[test]
fn failures_are_not_cached() {
    let clock = clock();
    let store = Rc::new(FlakyKv::new(&clock));
    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock)
            .then(fail(400))
            .otherwise(ok("fixed")),
        json!({}),
        Some(store.clone()),
    );
    assert_eq!(
        h.run(json!("deep"), json!({ "idempotencyKey": "k", "toolName": "primary" }))
            .unwrap_err()
            .code(),
        "tool_failed"
    );
    assert!(store.is_empty(), "the claim was released");
    let r = h
        .run(json!("deep"), json!({ "idempotencyKey": "k", "toolName": "primary" }))
        .unwrap();
    assert_eq!((r.cached, r.output.as_str()), (false, Some("fixed")));
    assert_eq!(primary.call_count(), 2);
}

#[test]
fn records_expire_after_the_ttl() {
    let clock = clock();
    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        json!({ "idempotencyTtlMs": 1000 }),
        None,
    );
    h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    clock.advance(999.0);
    assert!(h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap().cached);
    clock.advance(1.0);
    assert!(!h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap().cached);
    assert_eq!(primary.call_count(), 2);
}

#[test]
fn fifty_concurrent_runs_with_one_key_execute_once() {
    for atomic in [true, false] {
        let clock = clock();
        let store = Rc::new(FlakyKv::new(&clock));
        store.atomic.set(atomic);
        store.delay_ms.set(3.0);
        let slow = ScriptedTool::new("openai", &clock).otherwise(Step::After(100.0, Box::new(ok("once"))));
        let (h, primary, _) = setup(&clock, slow, json!({}), Some(store.clone()));
        let runs: Vec<LocalBoxFuture<'static, _>> = (0..50)
            .map(|i| {
                let options = reliable_orchestrator::RunOptions::from_json(
                    &json!({ "idempotencyKey": "same", "requestId": format!("r{i}") }),
                )
                .unwrap();
                Box::pin(h.orchestrator.run(json!("deep"), options)) as LocalBoxFuture<'static, _>
            })
            .collect();
        let results: Vec<Result<RunResult<Value>, RunError<Value>>> = clock.run_all(runs).unwrap();
        assert_eq!(primary.call_count(), 1, "atomic={atomic}");
        assert!(results.iter().all(|r| r.as_ref().unwrap().output == json!("once")));
        assert_eq!(results.iter().filter(|r| r.as_ref().unwrap().cached).count(), 49);
        assert_eq!(results[7].as_ref().unwrap().request_id, "r7");
        assert_eq!(
            h.events_of("idempotency")
                .iter()
                .filter(|e| e["outcome"] == "joined")
                .count(),
            49
        );
        assert_eq!(h.orchestrator.in_flight(), 0, "single-flight map drained");
    }
}

#[test]
fn store_failure_before_the_tool_fails_closed_or_proceeds() {
    let clock = clock();
    let store = Rc::new(FlakyKv::new(&clock));
    store.fail_get.set(true);
    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        json!({}),
        Some(store.clone()),
    );
    let e = h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap_err();
    assert_eq!(e.code(), "store_failed");
    assert_eq!(primary.call_count(), 0, "no execution without idempotency");

    store.fail_get.set(false);
    store.fail_put_if_absent.set(true);
    assert_eq!(
        h.run(json!("deep"), json!({ "idempotencyKey": "k" }))
            .unwrap_err()
            .code(),
        "store_failed"
    );
    assert_eq!(primary.call_count(), 0);

    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        json!({ "idempotencyStoreFailure": "proceed" }),
        Some(store.clone()),
    );
    let r = h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    assert!(!r.cached);
    assert_eq!(primary.call_count(), 1);
    assert_eq!(h.events_of("idempotency")[0]["outcome"], "store_failed");
}

#[test]
fn failing_to_record_after_the_tool_ran_still_returns_the_result() {
    let clock = clock();
    let store = Rc::new(FlakyKv::new(&clock));
    store.fail_put.set(true);
    let (h, primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock).then(ok("paid for")),
        json!({}),
        Some(store.clone()),
    );
    let r = h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    assert_eq!(r.output, json!("paid for"));
    assert_eq!(primary.call_count(), 1);
    let outcomes = h.field_of("idempotency", "outcome");
    assert_eq!(outcomes, vec![json!("miss"), json!("store_failed")]);
}

#[test]
fn a_breaker_changing_state_never_turns_a_replay_into_a_conflict() {
    let clock = clock();
    let primary = ScriptedTool::new("openai", &clock)
        .then(ok("from primary"))
        .otherwise(fail(503));
    let (h, _, _) = setup(&clock, primary, json!({}), None);
    h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    // Another run opens the primary's breaker.
    assert_eq!(h.run(json!("deep other"), json!({})).unwrap().tool_name, "backup");
    assert!(h.orchestrator.circuit_states()["openai"].state == reliable_orchestrator::CircuitState::Open);
    let r = h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    assert_eq!((r.cached, r.output.as_str()), (true, Some("from primary")));
}

#[test]
fn an_aborted_leader_frees_the_key() {
    let clock = clock();
    let store = Rc::new(FlakyKv::new(&clock));
    let primary = ScriptedTool::new("openai", &clock)
        .then(Step::After(10_000.0, Box::new(ok("late"))))
        .otherwise(ok("now"));
    let (h, primary, _) = setup(&clock, primary, json!({}), Some(store.clone()));
    let e = h
        .run(json!("deep"), json!({ "idempotencyKey": "k", "timeoutMs": 1000 }))
        .unwrap_err();
    assert_eq!(e.code(), "timeout");
    assert_eq!(h.orchestrator.in_flight(), 0);
    let r = h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    assert_eq!((r.cached, r.output.as_str()), (false, Some("now")));
    assert_eq!(primary.call_count(), 2);
}

/// A store that remembers every key and value written to it.
struct Spy {
    inner: MemoryKv,
    writes: RefCell<Vec<(String, String)>>,
}

impl KvStore for Spy {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        self.inner.get(key)
    }
    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        self.writes.borrow_mut().push((key.to_owned(), value.clone()));
        self.inner.put(key, value, ttl_ms)
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}

#[test]
fn store_keys_are_namespaced_hashed_and_bounded() {
    let clock = clock();
    let spy = Rc::new(Spy {
        inner: MemoryKv::new(clock.clone()),
        writes: RefCell::new(Vec::new()),
    });
    let (h, _, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        json!({}),
        Some(spy.clone()),
    );
    let key = format!("user-secret-key-{}", "x".repeat(200));
    h.run(json!("deep"), json!({ "idempotencyKey": key })).unwrap();
    let writes = spy.writes.borrow();
    assert_eq!(writes.len(), 2, "claim (non-atomic put) then the completed record");
    for (store_key, value) in writes.iter() {
        assert!(
            store_key.starts_with("ro:idem:v1:") && store_key.len() == 75,
            "{store_key}"
        );
        assert!(!store_key.contains("user-secret") && !value.contains("user-secret"));
    }
    assert_eq!(
        h.run(json!("deep"), json!({ "idempotencyKey": "" }))
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    assert_eq!(
        h.run(json!("deep"), json!({ "idempotencyKey": "k".repeat(257) }))
            .unwrap_err()
            .code(),
        "invalid_request"
    );
}

#[test]
fn followers_on_request_isolated_hosts_wait_on_their_own_timer() {
    // As in Cloudflare Workers: joined runs poll for the leader's result every 20 ms
    // instead of being woken from the leader's I/O.
    use reliable_orchestrator::testing::virtual_platform;
    use reliable_orchestrator::{Clock, Orchestrator, OrchestratorConfig, RunOptions, Tool};
    let clock = clock();
    let primary = Rc::new(ScriptedTool::new("openai", &clock).then(Step::After(105.0, Box::new(ok("once")))));
    let mut platform = virtual_platform(&clock, 3);
    platform.join_poll_ms = Some(20.0);
    let orchestrator = Orchestrator::builder(platform)
        .config(
            OrchestratorConfig::from_json(
                &json!({ "defaultTools": ["primary"], "reliability": { "idempotencyEnabled": true } }),
            )
            .unwrap(),
        )
        .tool("primary", Rc::clone(&primary) as Rc<dyn Tool<Value>>)
        .build()
        .unwrap();
    let ends = Rc::new(RefCell::new(Vec::new()));
    let runs: Vec<LocalBoxFuture<'static, (bool, String)>> = (0..5)
        .map(|i| {
            let run = orchestrator.run(
                json!("same"),
                RunOptions::from_json(&json!({ "idempotencyKey": "k", "requestId": format!("r{i}") })).unwrap(),
            );
            let clock = Rc::clone(&clock);
            let ends = Rc::clone(&ends);
            Box::pin(async move {
                let result = run.await.unwrap();
                ends.borrow_mut().push(clock.now_ms());
                (result.cached, result.output.as_str().unwrap_or_default().to_owned())
            }) as LocalBoxFuture<'static, (bool, String)>
        })
        .collect();
    let results = clock.run_all(runs).unwrap();
    assert_eq!(primary.call_count(), 1);
    assert_eq!(results.iter().filter(|(cached, _)| !cached).count(), 1);
    assert!(results.iter().all(|(_, output)| output == "once"));
    let ends = ends.borrow();
    assert!(
        ends.iter().all(|t| (105.0..=125.0).contains(t)),
        "followers finish within one poll: {ends:?}"
    );
}
