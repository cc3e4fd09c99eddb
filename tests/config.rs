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

fn request_error(options: Value) -> (String, String) {
    match RunOptions::from_json(&options) {
        Err(OrchestratorError::InvalidRequest { field, message }) => (field, message),
        Err(other) => panic!("{options}: {other:?}"),
        Ok(_) => panic!("{options} accepted"),
    }
}

fn one_rule(rule: Value) -> Value {
    json!({ "planner": { "rules": [rule] } })
}

#[test]
fn unknown_keys_are_rejected_everywhere_with_a_suggestion() {
    let t = || json!({ "toolName": "t" });
    let cases = [
        (json!({ "planer": {} }), "planer", Some("planner")),
        (json!({ "defaultTool": ["t"] }), "defaultTool", Some("defaultTools")),
        (
            json!({ "tools": {} }),
            "tools",
            None, // tools are code: the JS binding takes them apart
        ),
        (
            json!({ "reliability": { "retyPolicy": {} } }),
            "reliability.retyPolicy",
            Some("retryPolicy"),
        ),
        (
            json!({ "reliability": { "idempotencyTTLMs": 5 } }),
            "reliability.idempotencyTTLMs",
            Some("idempotencyTtlMs"),
        ),
        (
            json!({ "reliability": { "retryPolicy": { "maxAtempts": 3 } } }),
            "reliability.retryPolicy.maxAtempts",
            Some("maxAttempts"),
        ),
        (
            json!({ "reliability": { "retry_policy": { "max_attempt": 3 } } }),
            "reliability.retry_policy.max_attempt",
            Some("max_attempts"),
        ),
        (
            json!({ "reliability": { "circuitBreakers": { "openai": { "failureTreshold": 2 } } } }),
            "reliability.circuitBreakers.openai.failureTreshold",
            Some("failureThreshold"),
        ),
        (
            json!({ "reliability": { "circuit_breaker_configs": { "default": { "timeout_s": 2 } } } }),
            "reliability.circuit_breaker_configs.default.timeout_s",
            Some("timeout"),
        ),
        (json!({ "planner": { "rule": [] } }), "planner.rule", Some("rules")),
        (
            one_rule(json!({ "toolName": "t", "priorty": 1 })),
            "planner.rules[0].priorty",
            Some("priority"),
        ),
        (
            one_rule(json!({ "keywords": ["x"], "atribute": "q", "toolName": "t" })),
            "planner.rules[0].atribute",
            Some("attribute"),
        ),
        (
            one_rule(json!({ "requestTyp": "x", "toolName": "t" })),
            "planner.rules[0].requestTyp",
            Some("requestType"),
        ),
        (
            one_rule(json!({ "action": { "toolName": "t", "toolOption": {} } })),
            "planner.rules[0].action.toolOption",
            Some("toolOptions"),
        ),
        (
            one_rule(json!({ "conditions": [{ "path": "a", "op": "equals", "valu": 1 }], "action": t() })),
            "planner.rules[0].conditions[0].valu",
            Some("value"),
        ),
        (
            one_rule(json!({ "conditions": [{ "path": "a", "op": "equal", "value": 1 }], "action": t() })),
            "planner.rules[0].conditions[0].op",
            Some("equals"),
        ),
        (
            json!({ "reliability": { "idempotencyStoreFailure": "proced" } }),
            "reliability.idempotencyStoreFailure",
            Some("proceed"),
        ),
        (json!({ "reliability": { "banana": 1 } }), "reliability.banana", None),
    ];
    for (config, field, suggestion) in cases {
        let (code, f, message) = build(config.clone()).expect_err(&format!("accepted {config}"));
        assert_eq!((code.as_str(), f.as_str()), ("invalid_config", field), "{config}");
        match suggestion {
            Some(s) => assert!(message.contains(&format!("did you mean `{s}`?")), "{config}: {message}"),
            None => assert!(!message.contains("did you mean"), "{config}: {message}"),
        }
    }
    // The known keys are listed, camelCase only where both spellings exist.
    let (_, _, message) = build(json!({ "reliability": { "banana": 1 } })).unwrap_err();
    assert!(
        message.contains("`retryPolicy`") && !message.contains("`retry_policy`"),
        "{message}"
    );

    let cases = [
        (json!({ "toolNmae": "t" }), "toolNmae", Some("toolName")),
        (json!({ "timeout": 5 }), "timeout", Some("timeoutMs")),
        (json!({ "trace_idd": "x" }), "trace_idd", Some("trace_id")),
        (json!({ "budget": { "token": 5 } }), "budget.token", Some("tokens")),
        (json!({ "budget": { "cost": 5 } }), "budget.cost", Some("costUsd")),
        (json!({ "priority": 1 }), "priority", None),
    ];
    for (options, field, suggestion) in cases {
        let (f, message) = request_error(options.clone());
        assert_eq!(f, field, "{options}");
        match suggestion {
            Some(s) => assert!(
                message.contains(&format!("did you mean `{s}`?")),
                "{options}: {message}"
            ),
            None => assert!(!message.contains("did you mean"), "{options}: {message}"),
        }
    }
}

#[test]
fn wrong_types_name_the_field() {
    let t = || json!({ "toolName": "t" });
    let cases = [
        (json!({ "planner": { "rules": 5 } }), "planner.rules"),
        (json!({ "planner": { "rules": {} } }), "planner.rules"),
        (json!({ "planner": [] }), "planner"),
        (json!({ "defaultTools": "t" }), "defaultTools"),
        (json!({ "reliability": [1] }), "reliability"),
        (
            json!({ "reliability": { "retryPolicy": [5] } }),
            "reliability.retryPolicy",
        ),
        (
            json!({ "reliability": { "retryPolicy": 5 } }),
            "reliability.retryPolicy",
        ),
        (
            json!({ "reliability": { "circuitBreakers": [1] } }),
            "reliability.circuitBreakers",
        ),
        (
            json!({ "reliability": { "circuitBreakers": { "p": [3] } } }),
            "reliability.circuitBreakers.p",
        ),
        (
            json!({ "reliability": { "idempotencyEnabled": "yes" } }),
            "reliability.idempotencyEnabled",
        ),
        (json!({ "planner": { "rules": [["t"]] } }), "planner.rules[0]"),
        (json!({ "planner": { "rules": [null] } }), "planner.rules[0]"),
        (one_rule(json!({ "action": ["t"] })), "planner.rules[0].action"),
        (
            one_rule(json!({ "conditions": {}, "action": t() })),
            "planner.rules[0].conditions",
        ),
        (
            one_rule(json!({ "conditions": [["a", "exists"]], "action": t() })),
            "planner.rules[0].conditions[0]",
        ),
        (
            one_rule(json!({ "toolName": "t", "toolOptions": 5 })),
            "planner.rules[0].toolOptions",
        ),
        (
            one_rule(json!({ "tool_name": "t", "tool_options": [1] })),
            "planner.rules[0].tool_options",
        ),
        (
            one_rule(json!({ "action": { "toolName": "t", "toolOptions": "fast" } })),
            "planner.rules[0].action.toolOptions",
        ),
        (
            one_rule(json!({ "keywords": "deep", "toolName": "t" })),
            "planner.rules[0].keywords",
        ),
    ];
    for (config, field) in cases {
        assert_eq!(rejected_field(config.clone()), field, "{config}");
    }
    // Operands: exists takes a boolean only (null is not "not given" here);
    // comparisons a number, `in` an array, `regex` a string.
    let operands = [
        ("exists", json!(null)),
        ("exists", json!(1)),
        ("exists", json!("true")),
        ("exists", json!([])),
        ("gt", json!(null)),
        ("gte", json!("1")),
        ("lt", json!([1])),
        ("lte", json!(true)),
        ("in", json!(null)),
        ("in", json!({ "a": 1 })),
        ("regex", json!(5)),
        ("regex", json!(null)),
    ];
    for (op, value) in operands {
        let rule = json!({ "conditions": [{ "path": "a", "op": op, "value": value }], "action": t() });
        assert_eq!(
            rejected_field(one_rule(rule)),
            "planner.rules[0].conditions[0].value",
            "{op} {value}"
        );
    }
    for (op, value) in [
        ("gt", None),
        ("in", None),
        ("regex", None),
        ("exists", Some(json!(false))),
    ] {
        let mut condition = json!({ "path": "a", "op": op });
        if let Some(v) = value {
            condition["value"] = v;
        }
        let result = build(one_rule(json!({ "conditions": [condition], "action": t() })));
        assert_eq!(result.is_ok(), op == "exists", "{op}");
    }

    let cases = [
        (json!({ "budget": [1] }), "budget"),
        (json!({ "budget": 5 }), "budget"),
        (json!({ "toolOptions": 42 }), "toolOptions"),
        (json!({ "tool_options": "x" }), "tool_options"),
        (json!({ "toolOptions": [1] }), "toolOptions"),
        (json!({ "traceId": 7 }), "traceId"),
    ];
    for (options, field) in cases {
        assert_eq!(request_error(options.clone()).0, field, "{options}");
    }
    assert!(RunOptions::from_json(&json!([1])).is_err());
}

#[test]
fn null_means_not_given() {
    let config = json!({
        "planner": { "rules": [{ "name": null, "priority": null, "conditions": null, "keywords": null,
                                 "action": { "toolName": "t", "toolOptions": { "keep": null } } }] },
        "defaultTools": null,
        "reliability": { "retryPolicy": null, "circuitBreakers": { "p": null, "q": { "timeout": null } },
                         "idempotencyEnabled": null, "attemptTimeoutMs": null },
    });
    assert!(build(config.clone()).is_ok());
    let parsed = OrchestratorConfig::from_json(&config).unwrap();
    assert_eq!(parsed.reliability.retry_policy, Default::default());
    assert!(parsed.reliability.idempotency_enabled);
    assert_eq!(parsed.reliability.circuit_breakers.for_provider("q").timeout, 60.0);
    let rule = &parsed.planner.rules[0];
    assert_eq!(rule.priority, 0.0);
    // Tool options are passed on as written.
    assert_eq!(
        rule.action.as_ref().unwrap().tool_options,
        Some(json!({ "keep": null }))
    );
    assert!(OrchestratorConfig::from_json(&Value::Null).is_ok());

    let options = RunOptions::from_json(&json!({ "toolName": null, "toolOptions": null, "budget": null,
                                                 "timeoutMs": null, "idempotencyKey": null }))
    .unwrap();
    assert!(options.tool_name.is_none() && options.tool_options.is_none() && options.budget.is_none());
    let options = RunOptions::from_json(&json!({ "budget": { "tokens": null, "costUsd": 1 } })).unwrap();
    assert_eq!(options.budget.map(|b| (b.tokens, b.cost_usd)), Some((None, Some(1.0))));
    assert!(RunOptions::from_json(&Value::Null).is_ok());
}

#[test]
fn seed_style_snake_case_config_is_accepted_and_takes_effect() {
    let config = json!({
        "planner": { "rules": [
            { "name": "deep", "keywords": ["deep"], "attribute": "query", "tool_name": "t",
              "tool_options": { "k": 1 }, "priority": 5 },
            { "request_type": "validation", "tool_name": "t" },
            { "conditions": [{ "path": "a", "op": "equals", "value": 1 }],
              "action": { "tool_name": "t", "tool_options": { "k": 2 } } },
        ] },
        "default_tools": ["t"],
        "reliability": {
            "retry_policy": { "max_attempts": 2, "initial_delay": 0.5, "max_delay": 4, "backoff_factor": 3,
                              "respect_retry_after": false, "jitter": 0 },
            "circuit_breaker_configs": {
                "p": { "failure_threshold": 2, "timeout": 30, "window_size": 120, "half_open_max_calls": 2,
                       "success_threshold": 3 },
            },
            "idempotency_enabled": false,
            "idempotency_ttl_ms": 5000,
            "conflict_detection": false,
            "idempotency_store_failure": "proceed",
            "attempt_timeout_ms": 1000,
        },
    });
    let parsed = OrchestratorConfig::from_json(&config).unwrap();
    let r = &parsed.reliability;
    assert_eq!((r.retry_policy.max_attempts, r.retry_policy.backoff_factor), (2, 3.0));
    let p = r.circuit_breakers.for_provider("p");
    assert_eq!(
        (
            p.failure_threshold,
            p.timeout,
            p.window_size,
            p.half_open_max_calls,
            p.success_threshold
        ),
        (2, 30.0, 120.0, 2, 3)
    );
    assert_eq!(
        (
            r.idempotency_enabled,
            r.idempotency_ttl_ms,
            r.conflict_detection,
            r.attempt_timeout_ms
        ),
        (false, 5000.0, false, Some(1000.0))
    );
    assert_eq!(
        r.idempotency_store_failure,
        reliable_orchestrator::StoreFailurePolicy::Proceed
    );
    assert_eq!(parsed.default_tools, ["t"]);
    assert_eq!(parsed.planner.rules.len(), 3);

    // The breaker threshold is used: two retryable failures (one run of two
    // attempts) open `p`'s breaker, so the next run does not call the tool.
    let clock = clock();
    let t = Rc::new(reliable_orchestrator::testing::ScriptedTool::new("p", &clock).otherwise(fail(503)));
    let h = harness(&clock, config, &[("t", &t)], None);
    assert!(h.run(json!("q"), json!({})).is_err());
    assert_eq!(t.call_count(), 2);
    assert_eq!(
        h.orchestrator.circuit_states()["p"].state,
        reliable_orchestrator::CircuitState::Open
    );
    assert!(h.run(json!("q"), json!({})).is_err());
    assert_eq!(t.call_count(), 2, "the open breaker admits no call");

    let options = RunOptions::from_json(&json!({
        "tool_name": "t", "tool_options": { "k": 3 }, "idempotency_key": "key", "trace_id": "trace",
        "request_id": "req", "timeout_ms": 100, "attempt_timeout_ms": 50,
        "budget": { "tokens": 10, "cost_usd": 0.5, "time_ms": 1000 },
    }))
    .unwrap();
    assert_eq!(
        (
            options.tool_name.as_deref(),
            options.idempotency_key.as_deref(),
            options.trace_id.as_deref(),
            options.request_id.as_deref()
        ),
        (Some("t"), Some("key"), Some("trace"), Some("req"))
    );
    assert_eq!(options.tool_options, Some(json!({ "k": 3 })));
    assert_eq!(
        (options.timeout_ms, options.attempt_timeout_ms),
        (Some(100.0), Some(50.0))
    );
    assert_eq!(
        options.budget.map(|b| (b.tokens, b.cost_usd, b.time_ms)),
        Some((Some(10.0), Some(0.5), Some(1000.0)))
    );
}
