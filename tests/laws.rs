//! Laws over whole runs, for arbitrary tool behaviour: calls per tool never
//! exceed `maxAttempts`, no wait exceeds `maxDelay` (jitter and hints
//! included), nothing is called while its breaker is open, and every run
//! ends with a result or a typed error.
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
use proptest::prelude::*;
use reliable_orchestrator::testing::{ScriptedTool, Step};
use reliable_orchestrator::{CircuitState, RetryHint, ToolError};
use serde_json::json;

fn step(kind: u8, hint_ms: f64) -> Step {
    match kind {
        0 => ok("fine"),
        1 => Step::Fail(ToolError::from_status(429, "slow").with_retry_hint(Some(RetryHint::DelayMs(hint_ms)))),
        2 => fail(503),
        3 => Step::Fail(ToolError::network("reset")),
        4 => Step::After(hint_ms, Box::new(ok("slow"))),
        _ => fail(400),
    }
}

proptest! {
    #![proptest_config(proptest_config(200))]
    #[test]
    fn run_laws(
        script in proptest::collection::vec((0u8..6, 0.0f64..20_000.0), 1..30),
        max_attempts in 1u32..6,
        max_delay in 0.5f64..10.0,
        jitter in 0.0f64..=1.0,
        runs in 1usize..8,
        gap in 0.0f64..5_000.0,
    ) {
        let clock = clock();
        let mut primary = ScriptedTool::new("openai", &clock);
        for (kind, hint) in &script {
            primary = primary.then(step(*kind, *hint));
        }
        let primary = Rc::new(primary.otherwise(fail(503)));
        let backup = tool("anthropic", &clock);
        let h = harness(&clock, json!({
            "defaultTools": ["primary", "backup"],
            "reliability": {
                "retryPolicy": { "maxAttempts": max_attempts, "initialDelay": 0.25, "maxDelay": max_delay, "jitter": jitter },
                "circuitBreakers": { "openai": { "failureThreshold": 2, "timeout": 3 } },
                "attemptTimeoutMs": 4000,
            },
        }), &[("primary", &primary), ("backup", &backup)], None);
        for _ in 0..runs {
            let calls_before = primary.call_count();
            let open_before = h.orchestrator.circuit_states().get("openai").map(|s| s.state) == Some(CircuitState::Open);
            let outcome = h.run(json!("q"), json!({}));
            let primary_calls = primary.call_count() - calls_before;
            prop_assert!(primary_calls <= max_attempts as usize);
            if open_before {
                prop_assert_eq!(primary_calls, 0, "called while open");
            }
            if let Err(e) = &outcome {
                prop_assert!(["tool_failed", "budget_exceeded", "timeout"].contains(&e.code()), "{}", e);
            }
            clock.advance(gap);
        }
        for retry in h.events_of("retry") {
            prop_assert!(retry["delayMs"].as_f64().unwrap() <= max_delay * 1000.0);
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(500))]
    /// A keyword rule matches exactly when the lowercased text contains the
    /// lowercased keyword: the byte-set filter that skips most scans never
    /// rules a real match out (ASCII, Latin-1 and multi-byte letters alike).
    #[test]
    fn keyword_rules_match_exactly_substrings(
        text in "[a-cA-C\u{e9}\u{c9}\u{3b1}\u{391} -]{0,24}",
        keywords in proptest::collection::vec("[a-cA-C\u{e9}\u{c9}\u{3b1}\u{391}-]{1,4}", 1..4),
    ) {
        use reliable_orchestrator::planning::RuleBasedPlanner;
        let config = json!({ "rules": [{ "keywords": keywords, "toolName": "hit" }] });
        let planner = RuleBasedPlanner::from_config(&serde_json::from_value(config).unwrap(), "planner").unwrap();
        let lowered = text.to_lowercase();
        let expected = keywords.iter().any(|k| lowered.contains(&k.to_lowercase()));
        let plan = planner.candidates(&json!({ "query": text }), &["miss".to_owned()]);
        prop_assert_eq!(plan[0].tool_name == "hit", expected, "text {:?} keywords {:?}", text, keywords);
    }
}
