//! Configuration and run-option validation: every rejection names the
//! field as the user spelled it; camelCase and the seed's snake_case both work.
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
use reliable_orchestrator::testing::virtual_platform;
use reliable_orchestrator::{Orchestrator, OrchestratorConfig, OrchestratorError, RunOptions, Tool};
use serde_json::{json, Value};

fn build(config: Value) -> Result<(), (String, String, String)> {
    let clock = clock();
    let t: Rc<dyn Tool<Value>> = tool("p", &clock);
    let parsed = OrchestratorConfig::from_json(&config);
    let result = parsed.and_then(|c| {
        Orchestrator::builder(virtual_platform(&clock, 1))
            .config(c)
            .tool("t", t)
            .build()
            .map(|_| ())
    });
    result.map_err(|e| match &e {
        OrchestratorError::InvalidConfig { field, message } => (e.code().to_owned(), field.clone(), message.clone()),
        other => (other.code().to_owned(), String::new(), other.to_string()),
    })
}

fn rejected_field(config: Value) -> String {
    let (code, field, _) = build(config.clone()).expect_err(&format!("accepted {config}"));
    assert_eq!(code, "invalid_config");
    field
}

#[test]
fn retry_policy_values() {
    let cases = [
        (json!({ "maxAttempts": 0 }), "reliability.retryPolicy.maxAttempts"),
        (json!({ "maxAttempts": 101 }), "reliability.retryPolicy.maxAttempts"),
        (json!({ "maxAttempts": 2.5 }), "reliability.retryPolicy.maxAttempts"),
        (json!({ "max_attempts": "3" }), "reliability.retryPolicy.max_attempts"),
        (json!({ "initialDelay": -1 }), "reliability.retryPolicy.initialDelay"),
        (
            json!({ "initial_delay": -0.5 }),
            "reliability.retryPolicy.initial_delay",
        ),
        (
            json!({ "initialDelay": 10, "maxDelay": 5 }),
            "reliability.retryPolicy.maxDelay",
        ),
        (json!({ "backoffFactor": 0.5 }), "reliability.retryPolicy.backoffFactor"),
        (json!({ "jitter": 1.5 }), "reliability.retryPolicy.jitter"),
        (json!({ "jitter": -0.1 }), "reliability.retryPolicy.jitter"),
    ];
    for (policy, field) in cases {
        assert_eq!(
            rejected_field(json!({ "reliability": { "retryPolicy": policy } })),
            field,
            "{policy}"
        );
    }
    let snake = json!({ "reliability": { "retry_policy": { "max_attempts": 5, "initial_delay": 0.5, "max_delay": 10, "backoff_factor": 3, "respect_retry_after": false } } });
    let parsed = OrchestratorConfig::from_json(&snake).unwrap();
    let p = parsed.reliability.retry_policy;
    assert_eq!(
        (
            p.max_attempts,
            p.initial_delay,
            p.max_delay,
            p.backoff_factor,
            p.respect_retry_after
        ),
        (5, 0.5, 10.0, 3.0, false)
    );
    // The snake_case spelling is named back as written.
    assert_eq!(
        rejected_field(json!({ "reliability": { "retry_policy": { "max_attempts": 0 } } })),
        "reliability.retry_policy.max_attempts"
    );
}

#[test]
fn nan_and_infinity_are_rejected() {
    // JSON has no NaN; a JS host passes it through serde as f64, which this mirrors.
    let policy: Result<reliable_orchestrator::RetryConfig, _> = reliable_orchestrator::config::read(
        serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            vec![("initialDelay", f64::NAN)].into_iter(),
        ),
        "reliability.retryPolicy",
        false,
    );
    match policy.unwrap_err() {
        OrchestratorError::InvalidConfig { field, .. } => {
            assert_eq!(field, "reliability.retryPolicy.initialDelay")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn breaker_values() {
    let cases = [
        (
            json!({ "openai": { "failureThreshold": 0 } }),
            "reliability.circuitBreakers.openai.failureThreshold",
        ),
        (
            json!({ "openai": { "failure_threshold": 1.5 } }),
            "reliability.circuitBreakers.openai.failure_threshold",
        ),
        (
            json!({ "default": { "timeout": 0 } }),
            "reliability.circuitBreakers.default.timeout",
        ),
        (
            json!({ "a": { "windowSize": -5 } }),
            "reliability.circuitBreakers.a.windowSize",
        ),
        (
            json!({ "a": { "halfOpenMaxCalls": 0 } }),
            "reliability.circuitBreakers.a.halfOpenMaxCalls",
        ),
        (
            json!({ "a": { "successThreshold": 0 } }),
            "reliability.circuitBreakers.a.successThreshold",
        ),
    ];
    for (breakers, field) in cases {
        assert_eq!(
            rejected_field(json!({ "reliability": { "circuitBreakers": breakers } })),
            field
        );
    }
    assert_eq!(
        rejected_field(json!({ "reliability": { "idempotencyTtlMs": 0 } })),
        "reliability.idempotencyTtlMs"
    );
    assert_eq!(
        rejected_field(json!({ "reliability": { "idempotencyStoreFailure": "maybe" } })),
        "reliability.idempotencyStoreFailure"
    );
    assert_eq!(
        rejected_field(json!({ "reliability": { "attemptTimeoutMs": -1 } })),
        "reliability.attemptTimeoutMs"
    );
}

#[test]
fn rule_problems_name_the_rule() {
    let rule = |r: Value| json!({ "planner": { "rules": [{ "conditions": [], "action": { "toolName": "t" } }, { "conditions": [], "action": { "toolName": "t" } }, r] } });
    let cases = [
        (
            json!({ "conditions": [], "action": { "toolName": "nope" } }),
            "planner.rules[2].action.toolName",
        ),
        (
            json!({ "keywords": ["x"], "toolName": "nope" }),
            "planner.rules[2].toolName",
        ),
        (json!({ "conditions": [] }), "planner.rules[2].action"),
        (
            json!({ "conditions": [{ "path": "a", "op": "like", "value": 1 }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].op",
        ),
        (
            json!({ "conditions": [{ "path": "a", "op": "exists", "value": "yes" }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].value",
        ),
        (
            json!({ "conditions": [{ "path": "a", "op": "in", "value": "x" }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].value",
        ),
        (
            json!({ "conditions": [{ "path": "a", "op": "gt", "value": "5" }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].value",
        ),
        (
            json!({ "conditions": [{ "path": "a", "op": "regex", "value": "(" }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].value",
        ),
        (
            json!({ "conditions": [{ "path": "a", "op": "regex", "value": "a".repeat(1025) }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].value",
        ),
        (
            json!({ "conditions": [{ "path": "a..b", "op": "exists" }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0].path",
        ),
        (json!({ "keywords": [], "toolName": "t" }), "planner.rules[2].keywords"),
        (
            json!({ "priority": "high", "toolName": "t" }),
            "planner.rules[2].priority",
        ),
        (
            json!({ "conditions": [{ "op": "exists" }], "action": { "toolName": "t" } }),
            "planner.rules[2].conditions[0]",
        ),
    ];
    for (bad, field) in cases {
        assert_eq!(rejected_field(rule(bad.clone())), field, "{bad}");
    }
    assert_eq!(
        rejected_field(json!({ "defaultTools": ["t", "ghost"] })),
        "defaultTools[1]"
    );
    let (_, _, message) = build(rule(
        json!({ "conditions": [{ "path": "a", "op": "like" }], "action": { "toolName": "t" } }),
    ))
    .unwrap_err();
    assert!(message.contains("like"), "{message}");
    assert!(build(rule(json!({ "conditions": [{ "path": "a", "op": "regex", "value": "a".repeat(1024) }], "action": { "tool_name": "t" } }))).is_ok());
}

#[test]
fn run_options_are_checked() {
    let cases = [
        (json!({ "timeoutMs": 0 }), "timeoutMs"),
        (json!({ "timeoutMs": "soon" }), "timeoutMs"),
        (json!({ "attempt_timeout_ms": -3 }), "attempt_timeout_ms"),
        (json!({ "budget": { "tokens": -1 } }), "budget.tokens"),
        (json!({ "budget": { "cost_usd": "a lot" } }), "budget.cost_usd"),
        (json!({ "toolName": 5 }), "toolName"),
        (json!({ "idempotencyKey": ["k"] }), "idempotencyKey"),
    ];
    for (options, field) in cases {
        match RunOptions::from_json(&options) {
            Err(OrchestratorError::InvalidRequest { field: f, .. }) => {
                assert_eq!(f, field, "{options}")
            }
            Err(other) => panic!("{options}: {other:?}"),
            Ok(_) => panic!("{options} accepted"),
        }
    }
}
