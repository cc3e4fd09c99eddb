//! Circuit breakers in runs: opening at the threshold within the window,
//! skipping open tools, half-open probes, closing and re-opening, client
//! errors ignored, states observable, export and import.
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

use common::*;
use reliable_orchestrator::testing::{ScriptedTool, Step, VirtualClock};
use reliable_orchestrator::{CircuitState, RunError, RunResult};
use serde_json::{json, Value};

fn config(breaker: Value, with_backup: bool) -> Value {
    let defaults = if with_backup {
        json!(["primary", "backup"])
    } else {
        json!(["primary"])
    };
    json!({
        "defaultTools": defaults,
        "reliability": {
            "retryPolicy": { "maxAttempts": 1, "jitter": 0 },
            "circuitBreakers": { "openai": breaker },
        },
    })
}

fn setup(
    clock: &Rc<VirtualClock>,
    breaker: Value,
    primary: ScriptedTool,
    with_backup: bool,
) -> (Harness, Rc<ScriptedTool>, Rc<ScriptedTool>) {
    let primary = Rc::new(primary);
    let backup = tool("anthropic", clock);
    let h = harness(
        clock,
        config(breaker, with_backup),
        &[("primary", &primary), ("backup", &backup)],
        None,
    );
    (h, primary, backup)
}

fn state(h: &Harness) -> CircuitState {
    h.orchestrator.circuit_states()["openai"].state
}

#[test]
fn opens_at_threshold_and_skips_the_tool_for_its_fallback() {
    let clock = clock();
    let (h, primary, backup) = setup(
        &clock,
        json!({ "failureThreshold": 3, "timeout": 60 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(503)),
        true,
    );
    for _ in 0..3 {
        let r = h.run(json!("q"), json!({})).unwrap();
        assert_eq!(r.tool_name, "backup");
    }
    assert_eq!(state(&h), CircuitState::Open);
    assert_eq!(primary.call_count(), 3);
    let r = h.run(json!("q"), json!({})).unwrap();
    assert_eq!((r.tool_name.as_str(), r.attempts), ("backup", 1));
    assert_eq!(primary.call_count(), 3, "no call admitted while open");
    let plan = h.events_of("plan").last().cloned().unwrap();
    assert_eq!(
        (plan["toolName"].clone(), plan["skipped"].clone()),
        (json!("backup"), json!(["primary"]))
    );
    let opened = h.events_of("breaker");
    assert_eq!(opened.len(), 1);
    assert_eq!(
        (
            opened[0]["provider"].as_str(),
            opened[0]["from"].as_str(),
            opened[0]["to"].as_str()
        ),
        (Some("openai"), Some("closed"), Some("open"))
    );
    assert_eq!(backup.call_count(), 4);
}

#[test]
fn all_open_fails_with_circuit_open_without_calling() {
    let clock = clock();
    let (h, primary, _) = setup(
        &clock,
        json!({ "failureThreshold": 1 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(500)),
        false,
    );
    assert_eq!(h.run(json!("q"), json!({})).unwrap_err().code(), "tool_failed");
    let e = h.run(json!("q"), json!({})).unwrap_err();
    match e.error {
        reliable_orchestrator::OrchestratorError::ToolExecution { category, attempts, .. } => {
            assert_eq!((category.as_str(), attempts), ("circuit_open", 0));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(primary.call_count(), 1);
}

#[test]
fn failures_older_than_the_window_do_not_count() {
    let clock = clock();
    let (h, _, _) = setup(
        &clock,
        json!({ "failureThreshold": 3, "windowSize": 10 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(500)),
        true,
    );
    h.run(json!("q"), json!({})).unwrap();
    clock.advance(6000.0);
    h.run(json!("q"), json!({})).unwrap();
    clock.advance(6000.0);
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(state(&h), CircuitState::Closed, "the first failure left the window");
    assert_eq!(h.orchestrator.circuit_states()["openai"].failures, 2);
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(state(&h), CircuitState::Open);
}

#[test]
fn client_errors_do_not_touch_the_breaker() {
    let clock = clock();
    let (h, primary, _) = setup(
        &clock,
        json!({ "failureThreshold": 1 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(422)),
        true,
    );
    for _ in 0..5 {
        assert_eq!(h.run(json!("q"), json!({})).unwrap_err().code(), "tool_failed");
    }
    assert_eq!(primary.call_count(), 5);
    assert_eq!(state(&h), CircuitState::Closed);
    assert!(h.events_of("breaker").is_empty());
}

#[test]
fn half_opens_after_timeout_and_closes_after_enough_successful_probes() {
    let clock = clock();
    let primary = ScriptedTool::new("openai", &clock)
        .then(fail(500))
        .then(fail(500))
        .otherwise(ok("fine"));
    let (h, primary, _) = setup(
        &clock,
        json!({ "failureThreshold": 2, "timeout": 60, "successThreshold": 2 }),
        primary,
        true,
    );
    h.run(json!("q"), json!({})).unwrap();
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(state(&h), CircuitState::Open);
    clock.advance(59_999.0);
    assert_eq!(h.run(json!("q"), json!({})).unwrap().tool_name, "backup");
    clock.advance(1.0);
    assert_eq!(state(&h), CircuitState::HalfOpen);
    assert_eq!(h.run(json!("q"), json!({})).unwrap().tool_name, "primary");
    assert_eq!(
        h.orchestrator.circuit_states()["openai"].state,
        CircuitState::HalfOpen,
        "one success of two"
    );
    assert_eq!(h.run(json!("q"), json!({})).unwrap().tool_name, "primary");
    assert_eq!(state(&h), CircuitState::Closed);
    let path: Vec<(String, String)> = h
        .events_of("breaker")
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [("closed", "open"), ("open", "half_open"), ("half_open", "closed")];
    assert_eq!(path, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    assert_eq!(primary.call_count(), 4);
}

#[test]
fn a_failed_probe_reopens() {
    let clock = clock();
    let (h, _, _) = setup(
        &clock,
        json!({ "failureThreshold": 1, "timeout": 30 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(503)),
        true,
    );
    h.run(json!("q"), json!({})).unwrap();
    clock.advance(30_000.0);
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(state(&h), CircuitState::Open);
    let last = h.events_of("breaker").last().cloned().unwrap();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str(), last["reason"].as_str()),
        (Some("half_open"), Some("open"), Some("probe_failed"))
    );
    let snapshot = &h.orchestrator.circuit_states()["openai"];
    assert_eq!(snapshot.opened_at, Some(WALL_START + 30_000.0));
    assert_eq!(snapshot.half_open_at, Some(WALL_START + 60_000.0));
}

#[test]
fn half_open_admits_one_probe_while_concurrent_runs_fall_back() {
    let clock = clock();
    let primary = ScriptedTool::new("openai", &clock)
        .then(fail(500))
        .otherwise(Step::After(500.0, Box::new(ok("slow ok"))));
    let (h, primary, backup) = setup(&clock, json!({ "failureThreshold": 1, "timeout": 10 }), primary, true);
    h.run(json!("q"), json!({})).unwrap();
    clock.advance(10_000.0);
    let runs = (0..3)
        .map(|_| {
            Box::pin(h.orchestrator.run(json!("q"), Default::default())) as futures::future::LocalBoxFuture<'static, _>
        })
        .collect();
    let results: Vec<Result<RunResult<Value>, RunError<Value>>> = clock.run_all(runs).unwrap();
    let tools: Vec<String> = results.into_iter().map(|r| r.unwrap().tool_name).collect();
    assert_eq!(tools.iter().filter(|t| *t == "primary").count(), 1, "{tools:?}");
    assert_eq!(primary.call_count(), 2);
    assert_eq!(backup.call_count(), 3);
    assert_eq!(state(&h), CircuitState::Closed);
}

#[test]
fn breaker_opened_during_retries_sends_the_run_to_its_fallback() {
    let clock = clock();
    let primary = Rc::new(ScriptedTool::new("openai", &clock).otherwise(fail(500)));
    let backup = tool("anthropic", &clock);
    let h = harness(
        &clock,
        json!({ "defaultTools": ["primary", "backup"], "reliability": {
            "retryPolicy": { "maxAttempts": 5, "jitter": 0 },
            "circuitBreakers": { "openai": { "failureThreshold": 2 } } } }),
        &[("primary", &primary), ("backup", &backup)],
        None,
    );
    let r = h.run(json!("q"), json!({})).unwrap();
    assert_eq!((r.tool_name.as_str(), r.attempts), ("backup", 3));
    assert_eq!(primary.call_count(), 2);
    assert_eq!(h.events_of("fallback")[0]["reason"], "circuit_open");
    // The failure that opened the breaker schedules no wait: the fallback runs at once.
    assert_eq!(h.events_of("retry").len(), 1);
    assert_eq!(backup.calls()[0].at, 1000.0);
}

#[test]
fn a_run_whose_breaker_another_run_opened_falls_back_without_waiting() {
    let clock = clock();
    // Both runs' first calls are in flight together; the first to fail opens the breaker.
    let primary = Rc::new(
        ScriptedTool::new("openai", &clock)
            .then(Step::After(10.0, Box::new(fail(503))))
            .then(Step::After(20.0, Box::new(fail(503)))),
    );
    let backup = tool("anthropic", &clock);
    let h = harness(
        &clock,
        json!({ "defaultTools": ["primary", "backup"], "reliability": {
            "retryPolicy": { "maxAttempts": 3, "initialDelay": 1.0, "jitter": 0 },
            "circuitBreakers": { "openai": { "failureThreshold": 1 } } } }),
        &[("primary", &primary), ("backup", &backup)],
        None,
    );
    let runs = (0..2)
        .map(|_| {
            Box::pin(h.orchestrator.run(json!("q"), Default::default())) as futures::future::LocalBoxFuture<'static, _>
        })
        .collect();
    let results: Vec<Result<RunResult<Value>, RunError<Value>>> = clock.run_all(runs).unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap().tool_name == "backup"));
    assert!(
        h.events_of("retry").is_empty(),
        "no run waited for a retry the breaker would refuse"
    );
    let at: Vec<f64> = backup.calls().iter().map(|c| c.at).collect();
    assert_eq!(at, vec![10.0, 20.0]);
}

#[test]
fn export_and_import_carry_state_across_isolates() {
    let clock = clock();
    let (h, _, _) = setup(
        &clock,
        json!({ "failureThreshold": 1, "timeout": 60 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(500)),
        true,
    );
    h.run(json!("q"), json!({})).unwrap();
    clock.advance(20_000.0);
    let exported = h.orchestrator.export_state();
    assert_eq!(exported["breakers"]["openai"]["state"], "open");
    assert_eq!(exported["breakers"]["openai"]["openedAt"], json!(WALL_START));

    // Another isolate, whose monotonic clock started elsewhere but whose wall clock agrees.
    let other_clock = VirtualClock::new(WALL_START + 20_000.0);
    let other_primary = Rc::new(ScriptedTool::new("openai", &other_clock));
    let other_backup = tool("anthropic", &other_clock);
    let other = harness(
        &other_clock,
        config(json!({ "failureThreshold": 1, "timeout": 60 }), true),
        &[("primary", &other_primary), ("backup", &other_backup)],
        None,
    );
    other.orchestrator.import_state(&exported);
    assert_eq!(other.orchestrator.circuit_states()["openai"].state, CircuitState::Open);
    assert_eq!(other.run(json!("q"), json!({})).unwrap().tool_name, "backup");
    assert_eq!(other_primary.call_count(), 0);
    other_clock.advance(40_000.0);
    assert_eq!(
        other.run(json!("q"), json!({})).unwrap().tool_name,
        "primary",
        "half-opens 60 s after the original opening"
    );
    assert_eq!(other.events_of("breaker")[0]["reason"], "import");

    other
        .orchestrator
        .import_state(&json!({ "breakers": { "x": { "state": "weird" }, "y": { "state": "open" } } }));
    other.orchestrator.import_state(&json!("not an object"));
    let ignored: Vec<Value> = other
        .events_of("breaker")
        .into_iter()
        .filter(|e| e["reason"] == "import_ignored")
        .collect();
    assert_eq!(ignored.len(), 3);
    assert!(ignored.iter().all(|e| e.get("traceId").is_none()));
    assert!(!other.orchestrator.circuit_states().contains_key("x"));
}

/// An import naming many unknown providers before a configured one.
fn flood(unknown: usize, name_len: usize) -> Value {
    let mut breakers = serde_json::Map::new();
    for i in 0..unknown {
        let name = format!("a{i:04}{}", "x".repeat(name_len.saturating_sub(5)));
        breakers.insert(name, json!({ "state": "closed", "failures": [] }));
    }
    json!({ "version": 1, "breakers": breakers })
}

fn import_ignored(h: &Harness) -> Vec<Value> {
    h.events_of("breaker")
        .into_iter()
        .filter(|e| e["reason"] == "import_ignored")
        .collect()
}

#[test]
fn an_import_of_unknown_providers_never_switches_a_configured_breaker_off() {
    let clock = clock();
    let (h, primary, _) = setup(
        &clock,
        json!({ "failureThreshold": 2, "timeout": 60 }),
        ScriptedTool::new("openai", &clock).otherwise(fail(503)),
        true,
    );
    h.orchestrator.import_state(&flood(1024, 5));
    let states = h.orchestrator.circuit_states();
    let unknown = states.keys().filter(|k| k.starts_with('a')).count();
    assert!(unknown <= 64, "{unknown} unknown providers kept");
    let ignored = import_ignored(&h);
    assert!(!ignored.is_empty() && ignored.len() <= 17, "{} reports", ignored.len());
    assert!(ignored.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("more entries ignored"));
    for _ in 0..2 {
        assert_eq!(h.run(json!("q"), json!({})).unwrap().tool_name, "backup");
    }
    assert_eq!(state(&h), CircuitState::Open, "the configured provider still trips");
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(primary.call_count(), 2);
    // An import cannot displace it either: its entry is applied after the flood.
    let mut again = flood(1024, 5);
    again["breakers"]["openai"] = json!({ "state": "closed", "failures": [] });
    h.orchestrator.import_state(&again);
    assert_eq!(state(&h), CircuitState::Closed);
}

#[test]
fn an_import_drops_over_long_provider_names_and_reports_them_briefly() {
    let clock = clock();
    let (h, _, _) = setup(
        &clock,
        json!({}),
        ScriptedTool::new("openai", &clock).otherwise(ok("fine")),
        true,
    );
    h.orchestrator.import_state(&flood(1000, 1000));
    assert!(h.orchestrator.circuit_states().keys().all(|k| k.len() <= 128));
    let exported = h.orchestrator.export_state().to_string();
    assert!(exported.len() < 10_000, "export holds {} bytes", exported.len());
    let ignored = import_ignored(&h);
    assert!(ignored.len() <= 17, "{} reports", ignored.len());
    assert!(ignored.iter().all(|e| e["provider"].as_str().unwrap().len() <= 128));
    assert!(ignored[0]["message"].as_str().unwrap().contains("128 bytes"));
    // A name at the bound is kept.
    let name = "b".repeat(128);
    h.orchestrator
        .import_state(&json!({ "breakers": { name.clone(): { "state": "open", "openedAt": WALL_START } } }));
    assert_eq!(h.orchestrator.circuit_states()[&name].state, CircuitState::Open);
}

#[test]
fn a_circuit_open_failure_says_which_providers_were_open() {
    let clock = clock();
    let primary = Rc::new(ScriptedTool::new("openai", &clock).otherwise(fail(500)));
    let backup = Rc::new(ScriptedTool::new("anthropic", &clock).otherwise(fail(503)));
    let config = json!({
        "defaultTools": ["primary", "backup"],
        "reliability": {
            "retryPolicy": { "maxAttempts": 1, "jitter": 0 },
            "circuitBreakers": { "default": { "failureThreshold": 1 } },
        },
    });
    let h = harness(&clock, config, &[("primary", &primary), ("backup", &backup)], None);
    h.run(json!("q"), json!({})).unwrap_err();
    let e = h.run(json!("q"), json!({})).unwrap_err();
    match &e.error {
        reliable_orchestrator::OrchestratorError::ToolExecution {
            category,
            attempts,
            cause,
            ..
        } => {
            assert_eq!((category.as_str(), *attempts), ("circuit_open", 0));
            let cause = cause.as_ref().expect("a cause saying why");
            assert_eq!(cause.category.as_str(), "circuit_open");
            assert!(cause.message.contains("anthropic, openai"), "{}", cause.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("open for anthropic, openai"), "{e}");
    assert_eq!((primary.call_count(), backup.call_count()), (1, 1));
}
