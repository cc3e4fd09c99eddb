//! Bundles: consensus, agreement and early stop, aborting replicates no
//! longer needed, budgets across replicates, and failing replicates.
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
use reliable_orchestrator::testing::{Reply, ScriptedHttp, ScriptedTool, SeededRandom, Step, VirtualClock};
use reliable_orchestrator::tools::{Bundle, OpenAiChatTool};
use reliable_orchestrator::{BudgetType, OrchestratorError, Tool, ToolErrorCategory, ToolEstimate, Usage};
use serde_json::{json, Value};

fn bundle_of(inner: Rc<dyn Tool<Value>>, config: Value) -> Rc<dyn Tool<Value>> {
    let config = Bundle::<Value>::config_from_json(&config, "tools.b").unwrap();
    Rc::new(Bundle::new(inner, config, Rc::new(SeededRandom::new(3))))
}

fn answers(clock: &Rc<VirtualClock>, outputs: &[&str]) -> Rc<ScriptedTool> {
    let mut tool = ScriptedTool::new("openai", clock);
    for (i, output) in outputs.iter().enumerate() {
        // Later replicates answer later, so answers arrive in call order.
        tool = tool.then(Step::After(10.0 * (i as f64 + 1.0), Box::new(ok(output))));
    }
    Rc::new(tool)
}

fn setup(clock: &Rc<VirtualClock>, bundle: Rc<dyn Tool<Value>>) -> Harness {
    harness_with(
        clock,
        json!({ "defaultTools": ["b"], "reliability": { "retryPolicy": exact_retry(1) } }),
        vec![("b", bundle)],
        None,
    )
}

#[test]
fn agreeing_replicates_stop_early() {
    // k = 5, epsilon = 0.1: two of two agreeing is a share of 1 >= 0.9.
    let clock = clock();
    let inner = answers(&clock, &["Paris", "paris.", "Paris", "Paris", "Paris"]);
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "epsilon": 0.1 })));
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(inner.call_count(), 2);
    assert_eq!(result.output["consensus"], json!("Paris"));
    assert_eq!(result.output["agreement"], json!(1.0));
    assert_eq!(result.output["confidence"], json!(0.75));
    assert_eq!(result.output["replicates"].as_array().unwrap().len(), 2);
    assert_eq!(result.output["disagreements"], json!([]));
}

#[test]
fn stops_once_the_leader_cannot_be_caught() {
    // One at a time, epsilon 0: a, b, a, a -> 3 vs 1 with one left; the fifth is never called.
    let clock = clock();
    let inner = answers(&clock, &["a", "b", "a", "a", "b"]);
    let h = setup(
        &clock,
        bundle_of(inner.clone(), json!({ "k": 5, "epsilon": 0.0, "concurrency": 1 })),
    );
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(inner.call_count(), 4);
    assert_eq!(result.output["consensus"], json!("a"));
    assert_eq!(result.output["agreement"], json!(0.75));
    assert_eq!(result.output["disagreements"], json!(["b"]));
    // Identical answers one at a time settle at two (share 1 >= 1 - 0).
    let clock = clock_again();
    let inner = answers(&clock, &["a", "a", "a", "a", "a"]);
    let h = setup(
        &clock,
        bundle_of(inner.clone(), json!({ "k": 5, "epsilon": 0.0, "concurrency": 1 })),
    );
    h.run(json!("q"), json!({})).unwrap();
    assert_eq!(inner.call_count(), 2);
}

fn clock_again() -> Rc<VirtualClock> {
    clock()
}

#[test]
fn disagreeing_replicates_run_to_k_and_report_the_disagreements() {
    let clock = clock();
    let inner = answers(&clock, &["A", "B", "C", "A", "B"]);
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "compare": "exact" })));
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(inner.call_count(), 5);
    assert_eq!(result.output["consensus"], json!("A"), "ties go to the first answer");
    assert_eq!(result.output["agreement"], json!(0.4));
    assert_eq!(result.output["disagreements"], json!(["B", "C"]));
}

#[test]
fn replicates_no_longer_needed_are_aborted_or_never_started() {
    // Three allowed at once, but two agreeing would settle it: the third is never started.
    let clock = clock();
    let used = |t| Step::OkWithUsage(json!("x"), Usage::new(t, 0, None), Some(0.001));
    let inner = Rc::new(
        ScriptedTool::new("openai", &clock)
            .then(Step::After(10.0, Box::new(used(10))))
            .then(Step::After(20.0, Box::new(used(10)))),
    );
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "concurrency": 3 })));
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(inner.call_count(), 2);
    assert_eq!(result.usage.total_tokens, 20);
    assert!((result.cost_usd.unwrap() - 0.002).abs() < 1e-12);
    use reliable_orchestrator::Clock;
    assert!((clock.now_ms() - 20.0).abs() < 1e-9, "both ran at once");
    // Each replicate is its own span of the run's trace.
    let parents: Vec<String> = inner.calls().iter().map(|c| c.ctx.traceparent.clone()).collect();
    assert_eq!(
        parents
            .iter()
            .map(|p| &p[..35])
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        1
    );
    assert_eq!(parents.iter().collect::<std::collections::BTreeSet<_>>().len(), 2);

    // A replicate still in flight when the bundle stops is aborted, and reported as such.
    let clock = clock_again();
    let inner = Rc::new(
        ScriptedTool::new("openai", &clock)
            .then(Step::FailOnAbort)
            .then(Step::After(5.0, Box::new(fail(400)))),
    );
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "concurrency": 2 })));
    let error = h.run(json!("q"), json!({})).unwrap_err();
    assert_eq!(error.error.code(), "tool_failed");
    assert_eq!(inner.call_count(), 2);
    assert!(
        inner.calls()[0].ctx.signal.is_aborted(),
        "the first replicate was told to stop"
    );
}

#[test]
fn budgets_cover_every_replicate() {
    let clock = clock();
    let uses_100 = Step::OkWithUsage(json!("x"), Usage::new(50, 50, None), None);
    let estimate = ToolEstimate {
        tokens: Some(100),
        ..ToolEstimate::default()
    };
    let make = |outputs: &[&str]| {
        let mut tool = ScriptedTool::new("openai", &clock).with_estimate(estimate.clone());
        for o in outputs {
            tool = tool.then(Step::OkWithUsage(json!(o), Usage::new(50, 50, None), None));
        }
        Rc::new(tool.otherwise(uses_100.clone()))
    };
    // Disagreeing answers would run to k = 5, but only two fit in 250 tokens.
    let inner = make(&["a", "b", "c", "d", "e"]);
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "concurrency": 1 })));
    let result = h.run(json!("q"), json!({ "budget": { "tokens": 250 } })).unwrap();
    assert_eq!((inner.call_count(), result.usage.total_tokens), (2, 200));
    // With two in flight at once, the pre-check counts both.
    let inner = make(&["a", "b", "c", "d", "e"]);
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "concurrency": 2 })));
    h.run(json!("q"), json!({ "budget": { "tokens": 250 } })).unwrap();
    assert_eq!(inner.call_count(), 2);
    // When too few answers fit, the run stops with BudgetExceeded and what was spent.
    let inner = make(&["a", "b", "c", "d", "e"]);
    let h = setup(
        &clock,
        bundle_of(inner.clone(), json!({ "k": 5, "minSuccesses": 3, "concurrency": 1 })),
    );
    let error = h.run(json!("q"), json!({ "budget": { "tokens": 250 } })).unwrap_err();
    match error.error {
        OrchestratorError::BudgetExceeded { budget_type, limit, .. } => {
            assert_eq!((budget_type, limit), (BudgetType::Tokens, 250.0));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(inner.call_count(), 2);
}

#[test]
fn failing_replicates_are_reported_and_too_few_answers_fail() {
    let clock = clock();
    let inner = Rc::new(
        ScriptedTool::new("openai", &clock)
            .then(fail(503))
            .then(ok("a"))
            .then(fail(503))
            .then(ok("a")),
    );
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "concurrency": 1 })));
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(inner.call_count(), 4);
    let replicates = result.output["replicates"].as_array().unwrap().clone();
    assert_eq!(replicates[0]["error"]["category"], json!("server"));
    assert_eq!(replicates[0]["error"]["status"], json!(503));
    assert_eq!(replicates[1]["output"], json!("a"));

    // Every replicate failing: the bundle fails as its replicates did.
    let inner = Rc::new(ScriptedTool::new("openai", &clock).otherwise(fail(503)));
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 3 })));
    let error = h.run(json!("q"), json!({})).unwrap_err();
    match error.error {
        OrchestratorError::ToolExecution { category, cause, .. } => {
            assert_eq!(category, ToolErrorCategory::Server);
            assert!(cause.unwrap().message.contains("0 of 3 replicates answered"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(inner.call_count(), 3);

    // A non-retryable failure stops the bundle from starting more: every replicate would meet it.
    let inner = Rc::new(ScriptedTool::new("openai", &clock).otherwise(fail(400)));
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5, "concurrency": 1 })));
    let error = h.run(json!("q"), json!({})).unwrap_err();
    assert_eq!(error.error.code(), "tool_failed");
    assert_eq!(inner.call_count(), 1);
}

#[test]
fn tool_options_override_k_and_epsilon() {
    let clock = clock();
    let inner = answers(&clock, &["a", "b", "c", "d", "e"]);
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 5 })));
    h.run(json!("q"), json!({ "toolOptions": { "k": 2 } })).unwrap();
    assert_eq!(inner.call_count(), 2);
    let inner = answers(&clock, &["a", "b", "c"]);
    let h = setup(&clock, bundle_of(inner.clone(), json!({ "k": 3 })));
    let result = h.run(json!("q"), json!({ "toolOptions": { "epsilon": 1.0 } })).unwrap();
    assert_eq!(inner.call_count(), 2, "epsilon 1 settles at two answers");
    assert_eq!(result.output["agreement"], json!(0.5));
    let error = h.run(json!("q"), json!({ "toolOptions": { "k": 0 } })).unwrap_err();
    assert_eq!(error.error.code(), "tool_failed");
}

#[test]
fn bundle_config_errors_name_the_field() {
    for (config, field) in [
        (json!({ "k": 0 }), "tools.b.k"),
        (json!({ "k": 3, "epsilon": 2 }), "tools.b.epsilon"),
        (json!({ "concurrency": 1.5 }), "tools.b.concurrency"),
        (json!({ "compare": "fuzzy" }), "tools.b.compare"),
        (json!({ "k": 2, "minSuccesses": 3 }), "tools.b.minSuccesses"),
    ] {
        match Bundle::<Value>::config_from_json(&config, "tools.b").unwrap_err() {
            OrchestratorError::InvalidConfig { field: got, .. } => assert_eq!(got, field),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn bundle_of_a_provider_sums_usage_and_cost_across_replicates() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(Reply::json(
        200,
        json!({ "choices": [{ "message": { "content": "42" } }], "usage": { "prompt_tokens": 10, "completion_tokens": 2 } }),
    ));
    let provider = OpenAiChatTool::from_json(
        &json!({ "model": "gpt-4o", "baseUrl": "http://mock/v1" }),
        "tools.gpt",
        http.clone(),
    )
    .unwrap();
    let h = setup(
        &clock,
        bundle_of(Rc::new(provider), json!({ "k": 5, "concurrency": 1 })),
    );
    let result = h.run(json!("q"), json!({ "budget": { "costUsd": 1.0 } })).unwrap();
    assert_eq!(http.requests().len(), 2);
    assert_eq!(result.usage.total_tokens, 24);
    assert!((result.cost_usd.unwrap() - 2.0 * (10.0 * 2.5 + 2.0 * 10.0) / 1e6).abs() < 1e-15);
    let spans: std::collections::BTreeSet<_> = http
        .requests()
        .iter()
        .map(|r| r.headers.iter().find(|(n, _)| n == "traceparent").unwrap().1.clone())
        .collect();
    assert_eq!(spans.len(), 2, "each replicate request has its own span");
}
