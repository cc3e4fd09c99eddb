//! Hardening: the lease covers the whole run whatever the TTL, a joined run
//! ends only by its own signal or deadline, and a record kept past its own
//! expiry (a coarse-TTL store) is replaced, once-only on an atomic store.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use reliable_orchestrator::testing::{FlakyKv, ScriptedTool, Step, VirtualClock};
use reliable_orchestrator::{
    AbortReason, AbortSignal, KvStore, MemoryKv, OrchestratorError, RunError, RunOptions, RunResult, Sleeper,
};
use serde_json::{json, Value};

use super::common::*;
use super::{conflict_reason, setup};

type Ran = Result<RunResult<Value>, RunError<Value>>;

/// `h`'s run of `request` with `options`, started `at_ms` from now.
fn run_at(h: &Harness, at_ms: f64, request: Value, options: Value) -> LocalBoxFuture<'static, Ran> {
    run_with(h, at_ms, request, RunOptions::from_json(&options).unwrap())
}

fn run_with(h: &Harness, at_ms: f64, request: Value, options: RunOptions) -> LocalBoxFuture<'static, Ran> {
    let clock = Rc::clone(&h.clock);
    let orchestrator = h.orchestrator.clone();
    Box::pin(async move {
        clock.sleep(at_ms).await;
        orchestrator.run(request, options).await
    })
}

#[test]
fn the_lease_covers_the_whole_run_whatever_the_ttl() {
    let clock = clock();
    let store: Rc<dyn KvStore> = Rc::new(MemoryKv::new(clock.clone()));
    let slow = ScriptedTool::new("openai", &clock).otherwise(Step::After(600.0, Box::new(ok("slow"))));
    let ttl = json!({ "idempotencyTtlMs": 200 });
    let (a, a_primary, _) = setup(&clock, slow, ttl.clone(), Some(store.clone()));
    let (b, b_primary, _) = setup(&clock, ScriptedTool::new("openai", &clock), ttl, Some(store.clone()));
    let key = json!({ "idempotencyKey": "k" });
    let results = clock
        .run_all(vec![
            run_at(&a, 0.0, json!("deep"), key.clone()),
            run_at(&b, 350.0, json!("deep"), key.clone()),
        ])
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap().output, json!("slow"));
    assert_eq!(conflict_reason(results[1].as_ref().unwrap_err()), "in_progress");
    assert_eq!((a_primary.call_count(), b_primary.call_count()), (1, 0));
    // The TTL governs the completed record: replayed within it, gone after it.
    clock.advance(199.0);
    assert!(b.run(json!("deep"), key.clone()).unwrap().cached);
    clock.advance(1.0);
    assert!(!b.run(json!("deep"), key).unwrap().cached);
    assert_eq!(b_primary.call_count(), 1);
}

/// One orchestrator whose first call hangs until aborted, later calls take `ms`.
fn joined(clock: &Rc<VirtualClock>, later: Step) -> (Harness, Rc<ScriptedTool>) {
    let tool = ScriptedTool::new("openai", clock)
        .then(Step::FailOnAbort)
        .otherwise(later);
    let (h, primary, _) = setup(clock, tool, json!({}), None);
    (h, primary)
}

#[test]
fn a_follower_survives_its_leaders_abort() {
    let clock = clock();
    let (h, primary) = joined(&clock, Step::After(50.0, Box::new(ok("mine"))));
    let signal = AbortSignal::new();
    let mut leader = RunOptions::from_json(&json!({ "idempotencyKey": "k" })).unwrap();
    leader.signal = Some(signal.clone());
    let abort = {
        let clock = Rc::clone(&clock);
        Box::pin(async move {
            clock.sleep(100.0).await;
            signal.abort(AbortReason::Aborted);
            Err(RunError {
                error: OrchestratorError::Aborted,
                trace_id: String::new(),
                request_id: String::new(),
                output: None,
            })
        }) as LocalBoxFuture<'static, Ran>
    };
    let results = clock
        .run_all(vec![
            run_with(&h, 0.0, json!("deep"), leader),
            run_at(&h, 10.0, json!("deep"), json!({ "idempotencyKey": "k" })),
            abort,
        ])
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap_err().code(), "aborted");
    let follower = results[1].as_ref().expect("the follower runs the tool itself");
    assert_eq!((follower.output.as_str(), follower.cached), (Some("mine"), false));
    let calls = primary.calls();
    assert_eq!(calls.len(), 2, "the leader's aborted call and the follower's own");
    assert!(
        calls[1].at >= 100.0,
        "never both at once: second call at {}",
        calls[1].at
    );
    assert_eq!(h.orchestrator.in_flight(), 0);
}

#[test]
fn a_follower_keeps_its_own_deadline() {
    let clock = clock();
    let (h, primary) = joined(&clock, Step::After(200.0, Box::new(ok("mine"))));
    let results = clock
        .run_all(vec![
            run_at(
                &h,
                0.0,
                json!("deep"),
                json!({ "idempotencyKey": "k", "timeoutMs": 50 }),
            ),
            run_at(
                &h,
                10.0,
                json!("deep"),
                json!({ "idempotencyKey": "k", "timeoutMs": 10000 }),
            ),
        ])
        .unwrap();
    match &results[0].as_ref().unwrap_err().error {
        OrchestratorError::Timeout { timeout_ms } => assert_eq!(*timeout_ms, 50.0),
        other => panic!("leader: {other:?}"),
    }
    assert_eq!(results[1].as_ref().unwrap().output, json!("mine"));
    assert_eq!(primary.call_count(), 2);

    // A follower whose own deadline is shorter than the work left times out on it.
    let (h, _) = joined(&clock, Step::After(200.0, Box::new(ok("mine"))));
    let results = clock
        .run_all(vec![
            run_at(
                &h,
                0.0,
                json!("deep"),
                json!({ "idempotencyKey": "k", "timeoutMs": 50 }),
            ),
            run_at(
                &h,
                10.0,
                json!("deep"),
                json!({ "idempotencyKey": "k", "timeoutMs": 150 }),
            ),
        ])
        .unwrap();
    match &results[1].as_ref().unwrap_err().error {
        OrchestratorError::Timeout { timeout_ms } => assert_eq!(*timeout_ms, 150.0),
        other => panic!("follower: {other:?}"),
    }
}

#[test]
fn followers_share_a_genuine_tool_failure() {
    let clock = clock();
    let tool = ScriptedTool::new("openai", &clock).then(Step::After(100.0, Box::new(fail(400))));
    let (h, primary, _) = setup(&clock, tool, json!({}), None);
    let key = json!({ "idempotencyKey": "k", "toolName": "primary" });
    let results = clock
        .run_all(vec![
            run_at(&h, 0.0, json!("deep"), key.clone()),
            run_at(&h, 10.0, json!("deep"), key),
        ])
        .unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap_err().code() == "tool_failed"));
    assert_eq!(primary.call_count(), 1);
}

/// A strong, atomic store that keeps every value at least 60 s, as Workers KV.
fn coarse_store(clock: &Rc<VirtualClock>, atomic_cas: bool) -> Rc<FlakyKv> {
    let store = Rc::new(FlakyKv::new(clock));
    store.coarse_ttl_ms.set(60_000.0);
    store.atomic_cas.set(atomic_cas);
    store
}

#[test]
fn a_completed_record_past_its_ttl_is_replaced_on_a_coarse_ttl_store() {
    for atomic_cas in [true, false] {
        let clock = clock();
        let store = coarse_store(&clock, atomic_cas);
        let tool = ScriptedTool::new("openai", &clock)
            .then(ok("first"))
            .otherwise(ok("second"));
        let (h, primary, _) = setup(&clock, tool, json!({ "idempotencyTtlMs": 1000 }), Some(store.clone()));
        h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
        clock.advance(1500.0);
        assert_eq!(store.len(), 1, "the store still holds the expired record");
        let r = h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
        assert_eq!(
            (r.cached, r.output.as_str()),
            (false, Some("second")),
            "atomic_cas={atomic_cas}"
        );
        assert!(h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap().cached);
        assert_eq!(primary.call_count(), 2);
    }
}

#[test]
fn a_dead_leaders_expired_lease_is_replaced_on_a_coarse_ttl_store() {
    let clock = clock();
    let store = coarse_store(&clock, true);
    // The first isolate's run dies at its deadline and cannot free its key.
    store.fail_delete.set(true);
    let hang = ScriptedTool::new("openai", &clock).otherwise(Step::FailOnAbort);
    let (a, _, _) = setup(&clock, hang, json!({}), Some(store.clone()));
    let e = a
        .run(json!("deep"), json!({ "idempotencyKey": "k", "timeoutMs": 1000 }))
        .unwrap_err();
    assert_eq!(e.code(), "timeout");
    store.fail_delete.set(false);
    let (b, b_primary, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        json!({}),
        Some(store.clone()),
    );
    // While the lease lasts (deadline + grace), the key is in progress.
    let e = b.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap_err();
    assert_eq!(conflict_reason(&e), "in_progress");
    clock.advance(2_000.0);
    assert_eq!(store.len(), 1, "the store still holds the expired lease");
    let r = b.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    assert!(!r.cached);
    assert_eq!(b_primary.call_count(), 1);
}

#[test]
fn racing_replacements_of_an_expired_record_execute_once() {
    let clock = clock();
    let store = coarse_store(&clock, true);
    store.delay_ms.set(3.0);
    let ttl = json!({ "idempotencyTtlMs": 1000 });
    let (first, _, _) = setup(
        &clock,
        ScriptedTool::new("openai", &clock),
        ttl.clone(),
        Some(store.clone()),
    );
    first.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap();
    clock.advance(5_000.0);
    let slow = || ScriptedTool::new("openai", &clock).otherwise(Step::After(100.0, Box::new(ok("again"))));
    let isolates: Vec<_> = (0..6)
        .map(|_| setup(&clock, slow(), ttl.clone(), Some(store.clone() as Rc<dyn KvStore>)))
        .collect();
    let runs = isolates
        .iter()
        .map(|(h, _, _)| run_at(h, 0.0, json!("deep"), json!({ "idempotencyKey": "k" })))
        .collect();
    let results = clock.run_all(runs).unwrap();
    let executed: usize = isolates.iter().map(|(_, p, _)| p.call_count()).sum();
    assert_eq!(executed, 1, "one isolate replaced the expired record");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| conflict_reason(e) == "in_progress"));
}

#[test]
fn a_follower_takes_over_a_lease_its_leader_could_not_free() {
    for atomic_cas in [true, false] {
        let clock = clock();
        // A slow store: the leader's deadline leaves its key-freeing delete no time.
        let store = Rc::new(FlakyKv::new(&clock));
        store.delay_ms.set(5.0);
        store.atomic_cas.set(atomic_cas);
        let tool = ScriptedTool::new("openai", &clock)
            .then(Step::FailOnAbort)
            .otherwise(Step::After(100.0, Box::new(ok("mine"))));
        let (h, primary, _) = setup(&clock, tool, json!({}), Some(store.clone()));
        let results = clock
            .run_all(vec![
                run_at(
                    &h,
                    0.0,
                    json!("deep"),
                    json!({ "idempotencyKey": "k", "timeoutMs": 50 }),
                ),
                run_at(
                    &h,
                    10.0,
                    json!("deep"),
                    json!({ "idempotencyKey": "k", "timeoutMs": 10000 }),
                ),
            ])
            .unwrap();
        assert_eq!(results[0].as_ref().unwrap_err().code(), "timeout");
        let r = results[1].as_ref().unwrap();
        assert_eq!(
            (r.output.as_str(), r.cached),
            (Some("mine"), false),
            "atomic_cas={atomic_cas}"
        );
        assert_eq!(primary.call_count(), 2);
        assert!(h.run(json!("deep"), json!({ "idempotencyKey": "k" })).unwrap().cached);
    }
}
