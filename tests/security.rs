//! Security checks: regex conditions cannot blow up (size and time bounded), results too big
//! for the store are a clear event and still returned, replays need a fingerprint match, and
//! neither stored records nor events carry what a tool was told in confidence.
//! (Store keys namespaced, hashed and bounded: `tests/idempotency.rs`; API keys kept out of
//! errors, events and records: `tests/providers.rs`.)
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;

use std::rc::Rc;
use std::time::Instant;

use common::*;
use futures::future::LocalBoxFuture;
use reliable_orchestrator::testing::{virtual_platform, ScriptedTool};
use reliable_orchestrator::{KvStore, MemoryKv, Orchestrator, OrchestratorConfig, OrchestratorError, StoreError, Tool};
use serde_json::{json, Value};

#[test]
fn catastrophic_regexes_run_in_linear_time_and_big_ones_are_refused() {
    let clock = clock();
    let t = tool("p", &clock);
    let h = harness(
        &clock,
        json!({
            "planner": { "rules": [
                { "name": "nested", "priority": 2, "conditions": [{ "path": "query", "op": "regex", "value": "^(a+)+$" }], "action": { "toolName": "t" } },
                { "name": "alternation", "priority": 1, "conditions": [{ "path": "query", "op": "regex", "value": "(a|a|aa)*b" }], "action": { "toolName": "t" } },
            ]},
            "defaultTools": ["t"],
        }),
        &[("t", &t)],
        None,
    );
    // Exponential for a backtracking engine; linear here. Shown as a ratio measured in one
    // process (the best of a few runs of each size, so a busy machine does not decide), not as
    // an absolute bound: 10x the input must cost about 10x, far from the 100x of a quadratic.
    let best_of = |len: usize| {
        let evil = format!("{}!", "a".repeat(len));
        (0..3)
            .map(|_| {
                let started = Instant::now();
                let result = h.run(json!(evil.clone()), json!({})).unwrap();
                assert_eq!(result.tool_name, "t");
                started.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let small = best_of(10_000);
    let big = best_of(100_000);
    let ratio = big / small.max(1e-6);
    println!("adversarial regex: 10 kB {small:.4}s, 100 kB {big:.4}s, ratio {ratio:.1}");
    assert!(ratio < 30.0, "100 kB took {ratio:.1}x the time of 10 kB: not linear");
    assert_eq!(
        h.field_of("plan", "rule").last(),
        Some(&Value::Null),
        "neither pattern matches"
    );

    let too_big = "a".repeat(1025);
    let config = json!({ "planner": { "rules": [{ "conditions": [{ "path": "q", "op": "regex", "value": too_big }], "action": { "toolName": "t" } }] } });
    let built = OrchestratorConfig::from_json(&config).and_then(|config| {
        Orchestrator::<Value>::builder(virtual_platform(&clock, 1))
            .config(config)
            .tool("t", t.clone() as Rc<dyn Tool<Value>>)
            .build()
    });
    match built.err().unwrap() {
        OrchestratorError::InvalidConfig { field, .. } => assert_eq!(field, "planner.rules[0].conditions[0].value"),
        other => panic!("{other:?}"),
    }
}

/// A store with a value size limit, as Workers KV has (25 MiB there; 1 KiB here).
struct Limited {
    inner: MemoryKv,
    max_bytes: usize,
}

impl KvStore for Limited {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        self.inner.get(key)
    }
    fn put<'a>(&'a self, key: &'a str, value: String, ttl_ms: f64) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        if value.len() > self.max_bytes {
            let message = format!(
                "value of {} bytes is over the {} byte limit",
                value.len(),
                self.max_bytes
            );
            return Box::pin(async move {
                Err(StoreError {
                    operation: "put",
                    message,
                })
            });
        }
        self.inner.put(key, value, ttl_ms)
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}

#[test]
fn a_result_too_big_for_the_store_is_returned_with_a_store_failed_event() {
    let clock = clock();
    let big = "x".repeat(4096);
    let t = Rc::new(ScriptedTool::new("p", &clock).otherwise(ok(&big)));
    let store = Rc::new(Limited {
        inner: MemoryKv::new(clock.clone()),
        max_bytes: 1024,
    });
    let h = harness(
        &clock,
        json!({ "defaultTools": ["t"], "reliability": { "idempotencyEnabled": true } }),
        &[("t", &t)],
        Some(store),
    );
    let result = h.run(json!("q"), json!({ "idempotencyKey": "big" })).unwrap();
    assert_eq!(result.output, json!(big), "nothing paid for is lost");
    let outcomes = h.field_of("idempotency", "outcome");
    assert_eq!(outcomes, vec![json!("miss"), json!("store_failed")]);
    // Not recorded, so the next run executes again rather than replaying garbage.
    let again = h.run(json!("q"), json!({ "idempotencyKey": "big" })).unwrap();
    assert!(!again.cached);
    assert_eq!(t.call_count(), 2);
}

#[test]
fn replays_need_the_same_request_tool_and_options() {
    let clock = clock();
    let t = tool("p", &clock);
    let u = tool("p", &clock);
    let h = harness(
        &clock,
        json!({ "defaultTools": ["t"], "reliability": { "idempotencyEnabled": true } }),
        &[("t", &t), ("u", &u)],
        None,
    );
    h.run(json!({ "q": 1 }), json!({ "idempotencyKey": "k" })).unwrap();
    for (request, options) in [
        (json!({ "q": 2 }), json!({ "idempotencyKey": "k" })),
        (json!({ "q": 1 }), json!({ "idempotencyKey": "k", "toolName": "u" })),
        (
            json!({ "q": 1 }),
            json!({ "idempotencyKey": "k", "toolOptions": { "k": 5 } }),
        ),
    ] {
        let error = h.run(request.clone(), options.clone()).unwrap_err();
        assert_eq!(error.error.code(), "conflict", "{request} {options}");
    }
    assert!(
        h.run(json!({ "q": 1 }), json!({ "idempotencyKey": "k" }))
            .unwrap()
            .cached
    );
    assert_eq!(t.call_count() + u.call_count(), 1);
}
