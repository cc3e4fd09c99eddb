//! Budgets and deadlines: tokens, cost and time across retries and
//! fallbacks; pre-checks that keep calls and waits from starting;
//! attempt timeouts and run deadlines.
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
use reliable_orchestrator::{BudgetType, OrchestratorError, RunError, ToolError, ToolEstimate, Usage};
use serde_json::{json, Value};

fn setup(clock: &Rc<VirtualClock>, primary: ScriptedTool, retry: Value) -> (Harness, Rc<ScriptedTool>) {
    let primary = Rc::new(primary);
    let h = harness(
        clock,
        json!({ "defaultTools": ["t"], "reliability": { "retryPolicy": retry, "circuitBreakers": { "default": { "failureThreshold": 100 } } } }),
        &[("t", &primary)],
        None,
    );
    (h, primary)
}

fn budget(e: &RunError<Value>) -> (BudgetType, f64, f64) {
    match e.error {
        OrchestratorError::BudgetExceeded {
            budget_type,
            limit,
            spent,
            ..
        } => (budget_type, limit, spent),
        ref other => panic!("expected a budget stop, got {other:?}"),
    }
}

fn used(tokens: u64, cost: f64) -> Step {
    Step::OkWithUsage(
        json!("answer"),
        Usage::new(tokens / 2, tokens - tokens / 2, None),
        Some(cost),
    )
}

fn failed_using(tokens: u64) -> Step {
    Step::Fail(ToolError::from_status(503, "busy").with_usage(Some(Usage::new(tokens, 0, None)), Some(0.01)))
}

#[test]
fn usage_across_retries_stops_the_run_and_keeps_the_output() {
    let clock = clock();
    let (h, t) = setup(
        &clock,
        ScriptedTool::new("p", &clock)
            .then(failed_using(400))
            .then(used(700, 0.02)),
        exact_retry(3),
    );
    let e = h.run(json!("q"), json!({ "budget": { "tokens": 1000 } })).unwrap_err();
    assert_eq!(budget(&e), (BudgetType::Tokens, 1000.0, 1100.0));
    assert_eq!(e.output, Some(json!("answer")), "what was paid for is not lost");
    assert_eq!(t.call_count(), 2);
    let ev = &h.events_of("budget")[0];
    assert_eq!(
        (ev["budgetType"].as_str(), ev["limit"].as_f64(), ev["spent"].as_f64()),
        (Some("tokens"), Some(1000.0), Some(1100.0))
    );
}

#[test]
fn an_exhausted_budget_starts_no_further_attempt() {
    let clock = clock();
    let (h, t) = setup(
        &clock,
        ScriptedTool::new("p", &clock).otherwise(failed_using(500)),
        exact_retry(5),
    );
    let e = h.run(json!("q"), json!({ "budget": { "tokens": 1000 } })).unwrap_err();
    assert_eq!(budget(&e).0, BudgetType::Tokens);
    assert_eq!(t.call_count(), 2, "the third call could not fit");
}

#[test]
fn cost_budget_counts_every_attempt() {
    let clock = clock();
    let (h, _) = setup(
        &clock,
        ScriptedTool::new("p", &clock).then(failed_using(1)).then(used(2, 0.10)),
        exact_retry(3),
    );
    let e = h
        .run(json!("q"), json!({ "budget": { "cost_usd": 0.10 } }))
        .unwrap_err();
    let (kind, limit, spent) = budget(&e);
    assert_eq!((kind, limit), (BudgetType::CostUsd, 0.10));
    assert!((spent - 0.11).abs() < 1e-9);
    let (h, _) = setup(
        &clock,
        ScriptedTool::new("p", &clock).then(used(2, 0.04)),
        exact_retry(3),
    );
    let r = h
        .run(json!("q"), json!({ "budget": { "costUsd": 0.10, "tokens": 10 } }))
        .unwrap();
    assert_eq!((r.usage.total_tokens, r.cost_usd), (2, Some(0.04)));
}

#[test]
fn a_call_whose_estimate_cannot_fit_is_not_started() {
    let clock = clock();
    let tool = ScriptedTool::new("p", &clock).with_estimate(ToolEstimate {
        tokens: Some(2048),
        ..ToolEstimate::default()
    });
    let (h, t) = setup(&clock, tool, exact_retry(3));
    let e = h.run(json!("q"), json!({ "budget": { "tokens": 1000 } })).unwrap_err();
    // Nothing was spent; what the refused call needed is `requested`.
    assert_eq!(budget(&e), (BudgetType::Tokens, 1000.0, 0.0));
    assert!(matches!(
        e.error,
        OrchestratorError::BudgetExceeded {
            requested: Some(r),
            ..
        } if r == 2048.0
    ));
    assert!(e.to_string().contains("2048"), "{e}");
    let ev = &h.events_of("budget")[0];
    assert_eq!(
        (ev["spent"].as_f64(), ev["requested"].as_f64()),
        (Some(0.0), Some(2048.0))
    );
    assert_eq!(t.call_count(), 0);
}

#[test]
fn a_refused_call_after_spending_reports_spent_and_requested_apart() {
    let clock = clock();
    let tool = ScriptedTool::new("p", &clock)
        .then(failed_using(600))
        .with_estimate(ToolEstimate {
            tokens: Some(300),
            ..ToolEstimate::default()
        });
    let (h, t) = setup(&clock, tool, exact_retry(3));
    let e = h.run(json!("q"), json!({ "budget": { "tokens": 800 } })).unwrap_err();
    assert_eq!(budget(&e), (BudgetType::Tokens, 800.0, 600.0));
    let ev = &h.events_of("budget")[0];
    assert_eq!(
        (ev["spent"].as_f64(), ev["requested"].as_f64()),
        (Some(600.0), Some(900.0))
    );
    assert_eq!(t.call_count(), 1);
    // A stop after spending has nothing requested.
    let (h, _) = setup(
        &clock,
        ScriptedTool::new("p", &clock).then(used(900, 0.0)),
        exact_retry(1),
    );
    let e = h.run(json!("q"), json!({ "budget": { "tokens": 800 } })).unwrap_err();
    assert!(matches!(e.error, OrchestratorError::BudgetExceeded { requested: None, spent, .. } if spent == 900.0));
    assert!(h.events_of("budget")[0].get("requested").is_none());
}

#[test]
fn time_budget_stops_waits_that_cannot_fit() {
    let clock = clock();
    let (h, t) = setup(
        &clock,
        ScriptedTool::new("p", &clock).otherwise(fail(503)),
        exact_retry(5),
    );
    let e = h.run(json!("q"), json!({ "budget": { "timeMs": 2500 } })).unwrap_err();
    // Calls at 0 and 1000; the 2000 ms wait after the second would end at 3000.
    assert_eq!(budget(&e).0, BudgetType::TimeMs);
    assert_eq!(t.call_count(), 2);
    assert_eq!(
        reliable_orchestrator::Clock::now_ms(&*clock),
        1000.0,
        "stopped without sleeping"
    );
}

#[test]
fn time_budget_ends_a_slow_call() {
    let clock = clock();
    let (h, _) = setup(
        &clock,
        ScriptedTool::new("p", &clock).otherwise(Step::After(10_000.0, Box::new(ok("late")))),
        exact_retry(1),
    );
    let e = h.run(json!("q"), json!({ "budget": { "timeMs": 3000 } })).unwrap_err();
    assert_eq!(budget(&e), (BudgetType::TimeMs, 3000.0, 3000.0));
}

#[test]
fn attempt_timeout_is_retryable_and_aborts_the_tool_signal() {
    let clock = clock();
    let tool = ScriptedTool::new("p", &clock)
        .then(Step::After(5000.0, Box::new(ok("late"))))
        .then(ok("quick"));
    let (h, t) = setup(&clock, tool, exact_retry(3));
    let r = h.run(json!("q"), json!({ "attemptTimeoutMs": 1000 })).unwrap();
    assert_eq!((r.output.as_str(), r.attempts), (Some("quick"), 2));
    let calls = t.calls();
    assert!(calls[0].ctx.signal.is_aborted(), "the timed-out attempt's signal fired");
    assert!(!calls[1].ctx.signal.is_aborted());
    assert_eq!(calls[1].at, 2000.0, "timed out at 1000, waited 1000");
    assert_eq!(h.events_of("retry")[0]["reason"], "timeout");
}

#[test]
fn attempt_timeout_default_comes_from_config() {
    let clock = clock();
    let tool = Rc::new(ScriptedTool::new("p", &clock).otherwise(Step::After(5000.0, Box::new(ok("late")))));
    let h = harness(
        &clock,
        json!({ "defaultTools": ["t"], "reliability": { "attemptTimeoutMs": 100, "retryPolicy": exact_retry(2) } }),
        &[("t", &tool)],
        None,
    );
    let e = h.run(json!("q"), json!({})).unwrap_err();
    match e.error {
        OrchestratorError::ToolExecution { category, attempts, .. } => {
            assert_eq!((category.as_str(), attempts), ("timeout", 2))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_deadline_rejects_with_timeout_and_aborts_the_tool() {
    let clock = clock();
    let (h, t) = setup(
        &clock,
        ScriptedTool::new("p", &clock).otherwise(Step::After(60_000.0, Box::new(ok("late")))),
        exact_retry(3),
    );
    let e = h
        .run(json!("q"), json!({ "timeoutMs": 20000, "traceId": "trace-456" }))
        .unwrap_err();
    assert_eq!(e.code(), "timeout");
    assert_eq!(e.trace_id, "trace-456");
    assert_eq!(reliable_orchestrator::Clock::now_ms(&*clock), 20_000.0);
    assert!(t.calls()[0].ctx.signal.is_aborted());
    assert_eq!(clock.pending_timers(), 0, "no timers left behind");
}

#[test]
fn a_wait_past_the_deadline_moves_to_the_fallback_at_once() {
    let clock = clock();
    let primary = Rc::new(ScriptedTool::new("p", &clock).otherwise(fail(503)));
    let backup = tool("q", &clock);
    let h = harness(
        &clock,
        json!({ "defaultTools": ["a", "b"], "reliability": { "retryPolicy": { "maxAttempts": 3, "initialDelay": 10, "jitter": 0 } } }),
        &[("a", &primary), ("b", &backup)],
        None,
    );
    let r = h.run(json!("q"), json!({ "timeoutMs": 5000 })).unwrap();
    assert_eq!(r.tool_name, "b");
    assert_eq!(backup.calls()[0].at, 0.0);
    assert_eq!(h.events_of("fallback")[0]["reason"], "no_time_to_wait");
}

#[test]
fn a_tool_failing_because_it_was_aborted_reports_the_abort() {
    let clock = clock();
    let (h, t) = setup(
        &clock,
        ScriptedTool::new("p", &clock).otherwise(Step::FailOnAbort),
        exact_retry(2),
    );
    let e = h.run(json!("q"), json!({ "timeoutMs": 500 })).unwrap_err();
    assert_eq!(e.code(), "timeout", "not the tool's own abort error");
    let e = h.run(json!("q"), json!({ "attemptTimeoutMs": 100 })).unwrap_err();
    match e.error {
        OrchestratorError::ToolExecution { category, attempts, .. } => {
            assert_eq!((category.as_str(), attempts), ("timeout", 2))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.call_count(), 3);
}
