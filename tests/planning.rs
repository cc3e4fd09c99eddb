//! Planning: priority order, ties, paths, keyword and type rules, every
//! operator, explicit selection, defaults and errors.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;

use common::*;
use serde_json::{json, Value};

fn planner(rules: Value, defaults: Value) -> (common::Harness, Vec<&'static str>) {
    let clock = clock();
    let names = [
        "a",
        "b",
        "c",
        "deep_analysis",
        "validator",
        "premium_analysis",
        "fallback",
    ];
    let tools: Vec<_> = names.iter().map(|_| tool("p", &clock)).collect();
    let pairs: Vec<(&str, &_)> = names.iter().copied().zip(tools.iter()).collect();
    let h = harness(
        &clock,
        json!({ "planner": { "rules": rules }, "defaultTools": defaults }),
        &pairs,
        None,
    );
    (h, names.to_vec())
}

fn chosen(h: &common::Harness, request: Value) -> String {
    h.run(request, json!({}))
        .map(|r| r.tool_name)
        .unwrap_or_else(|e| format!("error:{}", e.code()))
}

#[test]
fn seed_rules_pick_by_priority() {
    let (h, _) = planner(
        json!([
            { "keywords": ["deep", "comprehensive"], "attribute": "query", "toolName": "deep_analysis", "priority": 20 },
            { "requestType": "validation", "toolName": "validator", "priority": 10 },
            { "name": "high_quality", "priority": 30,
              "conditions": [{ "path": "type", "op": "equals", "value": "analysis" },
                             { "path": "metadata.quality", "op": "equals", "value": "high" }],
              "action": { "toolName": "premium_analysis", "toolOptions": { "k": 7 } } },
        ]),
        json!([]),
    );
    assert_eq!(
        chosen(
            &h,
            json!({ "type": "analysis", "query": "A DEEP look", "metadata": { "quality": "high" } })
        ),
        "premium_analysis"
    );
    assert_eq!(
        chosen(&h, json!({ "type": "validation", "query": "Comprehensive check" })),
        "deep_analysis"
    );
    assert_eq!(
        chosen(&h, json!({ "type": "validation", "query": "check" })),
        "validator"
    );
    // A string request reads as { query }.
    assert_eq!(chosen(&h, json!("go deep please")), "deep_analysis");
    assert_eq!(chosen(&h, json!({ "type": "other" })), "error:no_tool");
    let plan = &h.events_of("plan")[0];
    assert_eq!(plan["rule"], "high_quality");
    assert_eq!(plan["fallbacks"], json!(["deep_analysis"]));
}

#[test]
fn ties_keep_insertion_order_and_fallbacks_follow_then_defaults() {
    let (h, _) = planner(
        json!([
            { "name": "first", "priority": 5, "conditions": [], "action": { "toolName": "b" } },
            { "name": "second", "priority": 5, "conditions": [], "action": { "toolName": "a" } },
            { "name": "low", "priority": 1, "conditions": [], "action": { "toolName": "b" } },
        ]),
        json!(["c", "a"]),
    );
    assert_eq!(chosen(&h, json!({})), "b");
    let plan = &h.events_of("plan")[0];
    assert_eq!(plan["toolName"], "b");
    assert_eq!(plan["fallbacks"], json!(["a", "c"]), "each tool once, defaults last");
}

#[test]
fn defaults_when_nothing_matches() {
    let (h, _) = planner(json!([{ "requestType": "x", "toolName": "a" }]), json!(["fallback"]));
    assert_eq!(chosen(&h, json!({ "type": "y" })), "fallback");
    assert!(h.events_of("plan")[0]["rule"].is_null());
}

#[test]
fn every_operator() {
    let cases: Vec<(Value, Value, bool)> = vec![
        (
            json!({"path": "n", "op": "equals", "value": 1}),
            json!({"n": 1.0}),
            true,
        ),
        (
            json!({"path": "n", "op": "equals", "value": "1"}),
            json!({"n": 1}),
            false,
        ),
        (
            json!({"path": "s", "op": "not_equals", "value": "x"}),
            json!({"s": "y"}),
            true,
        ),
        (json!({"path": "s", "op": "not_equals", "value": "x"}), json!({}), true),
        (
            json!({"path": "s", "op": "not_equals", "value": "x"}),
            json!({"s": "x"}),
            false,
        ),
        (
            json!({"path": "s", "op": "contains", "value": "ell"}),
            json!({"s": "hello"}),
            true,
        ),
        (
            json!({"path": "s", "op": "contains", "value": "ELL"}),
            json!({"s": "hello"}),
            false,
        ),
        (
            json!({"path": "tags", "op": "contains", "value": "x"}),
            json!({"tags": ["y", "x"]}),
            true,
        ),
        (
            json!({"path": "tags", "op": "contains", "value": "z"}),
            json!({"tags": ["y", "x"]}),
            false,
        ),
        (
            json!({"path": "s", "op": "in", "value": ["a", "b"]}),
            json!({"s": "b"}),
            true,
        ),
        (
            json!({"path": "s", "op": "in", "value": ["a", "b"]}),
            json!({"s": "c"}),
            false,
        ),
        (
            json!({"path": "m.k", "op": "exists", "value": true}),
            json!({"m": {"k": 0}}),
            true,
        ),
        (
            json!({"path": "m.k", "op": "exists", "value": true}),
            json!({"m": {}}),
            false,
        ),
        (
            json!({"path": "m.k", "op": "exists", "value": false}),
            json!({"m": {}}),
            true,
        ),
        (
            json!({"path": "s", "op": "regex", "value": "^ab+c$"}),
            json!({"s": "abbbc"}),
            true,
        ),
        (
            json!({"path": "s", "op": "regex", "value": "^ab+c$"}),
            json!({"s": "ac"}),
            false,
        ),
        (json!({"path": "n", "op": "gt", "value": 5}), json!({"n": 6}), true),
        (json!({"path": "n", "op": "gt", "value": 5}), json!({"n": 5}), false),
        (json!({"path": "n", "op": "gte", "value": 5}), json!({"n": 5}), true),
        (json!({"path": "n", "op": "lt", "value": 5}), json!({"n": 4.5}), true),
        (json!({"path": "n", "op": "lt", "value": 5}), json!({"n": "4"}), false),
        (json!({"path": "n", "op": "lte", "value": 5}), json!({"n": 5}), true),
        (
            json!({"path": "items.1.kind", "op": "equals", "value": "b"}),
            json!({"items": [{"kind": "a"}, {"kind": "b"}]}),
            true,
        ),
        (
            json!({"path": "o", "op": "equals", "value": {"x": [1, 2]}}),
            json!({"o": {"x": [1.0, 2]}}),
            true,
        ),
        // `null` is an operand here, not "not given".
        (
            json!({"path": "n", "op": "equals", "value": null}),
            json!({"n": null}),
            true,
        ),
        (
            json!({"path": "n", "op": "equals", "value": null}),
            json!({"n": 0}),
            false,
        ),
        (
            json!({"path": "n", "op": "not_equals", "value": null}),
            json!({"n": 0}),
            true,
        ),
        (
            json!({"path": "n", "op": "not_equals", "value": null}),
            json!({"n": null}),
            false,
        ),
        (
            json!({"path": "n", "op": "in", "value": [null, 1]}),
            json!({"n": null}),
            true,
        ),
        // `exists` without a value means `true`.
        (json!({"path": "m.k", "op": "exists"}), json!({"m": {"k": 1}}), true),
        (json!({"path": "m.k", "op": "exists"}), json!({"m": {"k": null}}), false),
    ];
    for (condition, request, expected) in cases {
        let (h, _) = planner(
            json!([{ "conditions": [condition.clone()], "action": { "toolName": "a" } }]),
            json!(["b"]),
        );
        let picked = chosen(&h, request.clone());
        assert_eq!(picked == "a", expected, "{condition} on {request} chose {picked}");
    }
}

#[test]
fn keyword_rules_are_case_insensitive_substrings() {
    let (h, _) = planner(json!([{ "keywords": ["Deep"], "toolName": "a" }]), json!(["b"]));
    assert_eq!(chosen(&h, json!({ "query": "a DEEPER dive" })), "a");
    assert_eq!(chosen(&h, json!({ "query": "shallow" })), "b");
    assert_eq!(chosen(&h, json!({ "query": 42 })), "b");
}

#[test]
fn explicit_tool_wins_without_fallbacks_and_unknown_is_an_error() {
    let (h, _) = planner(
        json!([{ "conditions": [], "action": { "toolName": "a" } }]),
        json!(["b"]),
    );
    let r = h
        .run(json!({}), json!({ "toolName": "c", "toolOptions": { "k": 5 } }))
        .unwrap();
    assert_eq!(r.tool_name, "c");
    let plan = &h.events_of("plan")[0];
    assert_eq!(plan["fallbacks"], json!([]));
    let e = h.run(json!({}), json!({ "tool_name": "nope" })).unwrap_err();
    assert_eq!(e.code(), "unknown_tool");
}

#[test]
fn rule_and_run_tool_options_reach_the_tool_merged() {
    let clock = clock();
    let a = tool("p", &clock);
    let h = harness(
        &clock,
        json!({ "planner": { "rules": [{ "conditions": [], "action": { "toolName": "a", "toolOptions": { "k": 7, "model": "m" } } }] } }),
        &[("a", &a)],
        None,
    );
    h.run(json!({}), json!({})).unwrap();
    h.run(json!({}), json!({ "toolOptions": { "k": 5 } })).unwrap();
    let calls = a.calls();
    assert_eq!(calls[0].options, json!({ "k": 7, "model": "m" }));
    assert_eq!(calls[1].options, json!({ "k": 5, "model": "m" }));
}

#[test]
fn condition_operands_of_the_wrong_type_are_config_errors() {
    let clock = clock();
    let a = tool("p", &clock);
    let cases = [
        (json!({ "path": "m", "op": "exists", "value": null }), "value"),
        (json!({ "path": "m", "op": "exists", "value": "false" }), "value"),
        (json!({ "path": "m", "op": "gt", "value": "5" }), "value"),
        (json!({ "path": "m", "op": "in", "value": null }), "value"),
        (json!({ "path": "m", "op": "regex", "value": ["a"] }), "value"),
        (json!({ "path": "m", "op": "exist", "value": true }), "op"),
        (json!({ "path": "m", "op": "exists", "values": true }), "values"),
    ];
    for (condition, key) in cases {
        let config = json!({ "planner": { "rules": [
            { "conditions": [], "action": { "toolName": "a" } },
            { "conditions": [condition.clone()], "action": { "toolName": "a" } },
        ] } });
        let error = reliable_orchestrator::OrchestratorConfig::from_json(&config).and_then(|c| {
            reliable_orchestrator::Orchestrator::builder(reliable_orchestrator::testing::virtual_platform(&clock, 1))
                .config(c)
                .tool("a", a.clone() as std::rc::Rc<dyn reliable_orchestrator::Tool<Value>>)
                .build()
                .map(|_| ())
        });
        match error {
            Err(reliable_orchestrator::OrchestratorError::InvalidConfig { field, .. }) => {
                assert_eq!(field, format!("planner.rules[1].conditions[0].{key}"), "{condition}")
            }
            other => panic!("{condition}: {other:?}"),
        }
    }
}
