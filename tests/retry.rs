//! Retries: counts, exact delays on the virtual clock, Retry-After in every
//! form, capped hints leading to the fallback, non-retryable failures,
//! jitter within bounds, cancellation of waits.
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
use reliable_orchestrator::testing::Step;
use reliable_orchestrator::{AbortReason, AbortSignal, RetryHint, RunOptions, ToolError};
use serde_json::json;

fn one_tool(retry: serde_json::Value, steps: Vec<Step>) -> (Harness, Rc<reliable_orchestrator::testing::ScriptedTool>) {
    let clock = clock();
    let mut t = reliable_orchestrator::testing::ScriptedTool::new("openai", &clock);
    for s in steps {
        t = t.then(s);
    }
    let t = Rc::new(t);
    let h = harness(
        &clock,
        json!({ "defaultTools": ["t"], "reliability": { "retryPolicy": retry, "circuitBreakers": { "default": { "failureThreshold": 100 } } } }),
        &[("t", &t)],
        None,
    );
    (h, t)
}

fn call_times(t: &reliable_orchestrator::testing::ScriptedTool) -> Vec<f64> {
    t.calls().iter().map(|c| c.at).collect()
}

#[test]
fn retries_with_exact_exponential_delays_then_succeeds() {
    let (h, t) = one_tool(exact_retry(4), vec![fail(503), fail(500), fail(429), ok("done")]);
    let r = h.run(json!("q"), json!({})).unwrap();
    assert_eq!((r.output.as_str(), r.attempts), (Some("done"), 4));
    assert_eq!(call_times(&t), vec![0.0, 1000.0, 3000.0, 7000.0]);
    let delays: Vec<_> = h
        .events_of("retry")
        .iter()
        .map(|e| e["delayMs"].as_f64().unwrap())
        .collect();
    assert_eq!(delays, vec![1000.0, 2000.0, 4000.0]);
    let reasons = h.field_of("retry", "reason");
    assert_eq!(reasons, vec![json!("server"), json!("server"), json!("rate_limit")]);
    let attempts: Vec<_> = t.calls().iter().map(|c| c.ctx.attempt).collect();
    assert_eq!(attempts, vec![1, 2, 3, 4]);
}

#[test]
fn max_attempts_counts_calls_and_then_fails_with_the_last_cause() {
    let (h, t) = one_tool(exact_retry(3), vec![fail(503), fail(500), fail(502)]);
    let e = h.run(json!("q"), json!({})).unwrap_err();
    assert_eq!(t.call_count(), 3);
    match e.error {
        reliable_orchestrator::OrchestratorError::ToolExecution {
            tool_name,
            attempts,
            category,
            cause,
        } => {
            assert_eq!((tool_name.as_str(), attempts, category.as_str()), ("t", 3, "server"));
            assert_eq!(cause.unwrap().status, Some(502));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn non_retryable_fails_at_once() {
    for status in [400, 401, 403, 404, 409, 422] {
        let (h, t) = one_tool(exact_retry(5), vec![fail(status)]);
        let e = h.run(json!("q"), json!({})).unwrap_err();
        assert_eq!((e.code(), t.call_count()), ("tool_failed", 1), "{status}");
        assert!(h.events_of("retry").is_empty());
    }
    let (h, t) = one_tool(exact_retry(5), vec![Step::Fail(ToolError::client("bad field"))]);
    assert!(h.run(json!("q"), json!({})).is_err());
    assert_eq!(t.call_count(), 1);
    // An explicit flag wins over the status.
    let (h, t) = one_tool(
        exact_retry(2),
        vec![
            Step::Fail(ToolError::from_status(400, "x").with_retryable(true)),
            ok("y"),
        ],
    );
    assert!(h.run(json!("q"), json!({})).is_ok());
    assert_eq!(t.call_count(), 2);
}

#[test]
fn retry_after_seconds_date_and_ms_replace_the_delay() {
    let hints = [
        (RetryHint::parse_retry_after("7").unwrap(), 7000.0),
        (RetryHint::from_headers(Some("1500"), Some("20")).unwrap(), 1500.0),
        // An HTTP-date 12 s after the virtual wall clock's start (2023-11-14T22:13:20Z).
        (
            RetryHint::parse_retry_after("Tue, 14 Nov 2023 22:13:32 GMT").unwrap(),
            12_000.0,
        ),
        (RetryHint::DelayMs(250.0), 250.0),
    ];
    for (hint, expected) in hints {
        let e = ToolError::from_status(429, "slow down").with_retry_hint(Some(hint));
        let (h, t) = one_tool(exact_retry(3), vec![Step::Fail(e), ok("done")]);
        h.run(json!("q"), json!({})).unwrap();
        assert_eq!(call_times(&t), vec![0.0, expected], "{hint:?}");
    }
    // Ignored when respectRetryAfter is off.
    let e = ToolError::from_status(429, "x").with_retry_hint(Some(RetryHint::DelayMs(9000.0)));
    let mut retry = exact_retry(3);
    retry["respect_retry_after"] = json!(false);
    let (h, t) = one_tool(retry, vec![Step::Fail(e), ok("done")]);
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(call_times(&t), vec![0.0, 1000.0]);
}

#[test]
fn retry_after_beyond_max_delay_falls_back_instead_of_sleeping() {
    let clock = clock();
    let e = ToolError::from_status(429, "later").with_retry_hint(Some(RetryHint::DelayMs(45_000.0)));
    let primary = Rc::new(reliable_orchestrator::testing::ScriptedTool::new("openai", &clock).then(Step::Fail(e)));
    let backup = tool("anthropic", &clock);
    let h = harness(
        &clock,
        json!({ "planner": { "rules": [{ "conditions": [], "action": { "toolName": "primary" } }] },
                "defaultTools": ["backup"], "reliability": { "retryPolicy": exact_retry(3) } }),
        &[("primary", &primary), ("backup", &backup)],
        None,
    );
    let r = h.run(json!("q"), json!({})).unwrap();
    assert_eq!((r.tool_name.as_str(), r.attempts), ("backup", 2));
    assert_eq!(backup.calls()[0].at, 0.0, "no wait at all");
    let fb = &h.events_of("fallback")[0];
    assert_eq!(
        (fb["from"].as_str(), fb["to"].as_str(), fb["reason"].as_str()),
        (Some("primary"), Some("backup"), Some("retry_after_too_long"))
    );
}

#[test]
fn jitter_stays_within_bounds() {
    let mut retry = exact_retry(6);
    retry["jitter"] = json!(0.5);
    retry["maxDelay"] = json!(5.0);
    let (h, _) = one_tool(
        retry,
        vec![fail(500), fail(500), fail(500), fail(500), fail(500), ok("x")],
    );
    h.run(json!("q"), json!({})).unwrap();
    let delays: Vec<f64> = h
        .events_of("retry")
        .iter()
        .map(|e| e["delayMs"].as_f64().unwrap())
        .collect();
    let nominal = [1000.0, 2000.0, 4000.0, 5000.0, 5000.0];
    for (d, n) in delays.iter().zip(nominal) {
        assert!(*d <= n && *d >= n * 0.5, "{d} vs {n}");
    }
}

#[test]
fn abort_interrupts_a_wait() {
    let (h, t) = one_tool(
        json!({ "maxAttempts": 3, "initialDelay": 10.0, "jitter": 0 }),
        vec![fail(503)],
    );
    let signal = AbortSignal::new();
    let options = RunOptions {
        signal: Some(signal.clone()),
        ..RunOptions::default()
    };
    let run = h.orchestrator.run(json!("q"), options);
    let clock = h.clock.clone();
    let aborter = {
        let clock = clock.clone();
        async move {
            reliable_orchestrator::Sleeper::sleep(&*clock, 2500.0).await;
            signal.abort(AbortReason::Aborted);
            Ok(reliable_orchestrator::RunResult {
                output: json!(null),
                tool_name: String::new(),
                attempts: 0,
                cached: false,
                usage: Default::default(),
                cost_usd: None,
                message: None,
                trace_id: String::new(),
                request_id: String::new(),
                elapsed_ms: 0.0,
                finish_reason: None,
            })
        }
    };
    let results = clock.run_all(vec![Box::pin(run), Box::pin(aborter)]).unwrap();
    let e = results[0].clone().unwrap_err();
    assert_eq!(e.code(), "aborted");
    assert_eq!(t.call_count(), 1);
    assert_eq!(
        reliable_orchestrator::Clock::now_ms(&*clock),
        2500.0,
        "the 10 s wait was cut short"
    );
    assert_eq!(clock.pending_timers(), 0, "no timer left behind");
}

#[test]
fn an_already_aborted_signal_runs_nothing() {
    let (h, t) = one_tool(exact_retry(3), vec![]);
    let signal = AbortSignal::new();
    signal.abort(AbortReason::Aborted);
    let run = h.orchestrator.run(
        json!("q"),
        RunOptions {
            signal: Some(signal),
            ..RunOptions::default()
        },
    );
    let e = h.clock.run(run).unwrap().unwrap_err();
    assert_eq!((e.code(), t.call_count()), ("aborted", 0));
}
