//! Trace propagation: default ids, ids on results and errors, what tools
//! receive, and `traceparent` handling.
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
use serde_json::json;

#[test]
fn ids_default_and_reach_tools_results_errors_and_events() {
    let clock = clock();
    let t = tool("p", &clock);
    let h = harness(&clock, json!({ "defaultTools": ["t"] }), &[("t", &t)], None);
    let r = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(r.request_id.len(), 36);
    assert_eq!(&r.request_id[14..15], "4", "a UUID v4");
    assert_eq!(r.trace_id, r.request_id, "trace id defaults to the request id");
    let call = &t.calls()[0];
    assert_eq!(
        (
            call.ctx.trace_id.as_str(),
            call.ctx.request_id.as_str(),
            call.ctx.tool_name.as_str()
        ),
        (r.trace_id.as_str(), r.request_id.as_str(), "t")
    );
    assert_eq!(
        call.ctx.traceparent,
        format!(
            "00-{}-{}-01",
            r.request_id.replace('-', ""),
            &call.ctx.traceparent[36..52]
        )
    );
    for event in h.events.json() {
        assert_eq!(event["traceId"], json!(r.trace_id));
        assert_eq!(event["requestId"], json!(r.request_id));
    }

    let r = h
        .run(json!("q"), json!({ "traceId": "trace-456", "requestId": "req-1" }))
        .unwrap();
    assert_eq!((r.trace_id.as_str(), r.request_id.as_str()), ("trace-456", "req-1"));
    let tp = &t.calls()[1].ctx.traceparent;
    assert_eq!(tp.len(), 55);
    assert_ne!(&tp[3..35], "00000000000000000000000000000000");

    let e = h
        .run(
            json!("q"),
            json!({ "toolName": "missing", "traceId": "x", "requestId": "y" }),
        )
        .unwrap_err();
    assert_eq!((e.trace_id.as_str(), e.request_id.as_str()), ("x", "y"));
}

#[test]
fn an_incoming_traceparent_supplies_the_trace_id() {
    let clock = clock();
    let t = tool("p", &clock);
    let h = harness(&clock, json!({ "defaultTools": ["t"] }), &[("t", &t)], None);
    let incoming = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    let r = h.run(json!("q"), json!({ "traceparent": incoming })).unwrap();
    assert_eq!(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(t.calls()[0]
        .ctx
        .traceparent
        .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(
        !t.calls()[0].ctx.traceparent.contains("00f067aa0ba902b7"),
        "a new span per call"
    );
    let r = h
        .run(json!("q"), json!({ "traceparent": incoming, "traceId": "mine" }))
        .unwrap();
    assert_eq!(r.trace_id, "mine", "an explicit trace id wins");
    let r = h.run(json!("q"), json!({ "traceparent": "garbage" })).unwrap();
    assert_eq!(r.trace_id, r.request_id);
}

#[test]
fn each_attempt_gets_a_fresh_span() {
    let clock = clock();
    let t = std::rc::Rc::new(reliable_orchestrator::testing::ScriptedTool::new("p", &clock).then(fail(503)));
    let h = harness(
        &clock,
        json!({ "defaultTools": ["t"], "reliability": { "retryPolicy": exact_retry(2) } }),
        &[("t", &t)],
        None,
    );
    h.run(json!("q"), json!({})).unwrap();
    let calls = t.calls();
    assert_eq!(calls[0].ctx.traceparent[..36], calls[1].ctx.traceparent[..36]);
    assert_ne!(calls[0].ctx.traceparent, calls[1].ctx.traceparent);
    assert_eq!((calls[0].ctx.attempt, calls[1].ctx.attempt), (1, 2));
}

fn invalid_field(error: &reliable_orchestrator::OrchestratorError) -> &str {
    match error {
        reliable_orchestrator::OrchestratorError::InvalidRequest { field, .. } => field,
        other => panic!("{other:?}"),
    }
}

#[test]
fn request_and_trace_ids_must_be_short_visible_ascii() {
    use reliable_orchestrator::RunOptions;
    let clock = clock();
    let t = tool("p", &clock);
    let h = harness(&clock, json!({ "defaultTools": ["t"] }), &[("t", &t)], None);
    let long = "a".repeat(257);
    let bad = [
        "req-1\r\nx-injected: 1",
        "req-\u{e9}",
        "",
        long.as_str(),
        "a\tb",
        "a\u{7f}",
    ];
    for (field, key) in [
        ("requestId", "requestId"),
        ("traceId", "traceId"),
        ("requestId", "request_id"),
    ] {
        for id in bad {
            // Read from JSON (as from JS) ...
            let error = RunOptions::from_json(&json!({ key: id })).err().unwrap();
            assert_eq!(invalid_field(&error), field, "{id:?}");
            // ... and built in Rust: run() checks them too, before any tool is called.
            let mut options = RunOptions::default();
            if field == "requestId" {
                options.request_id = Some(id.to_owned());
            } else {
                options.trace_id = Some(id.to_owned());
            }
            let error = clock.run(h.orchestrator.run(json!("q"), options)).unwrap().unwrap_err();
            assert_eq!(invalid_field(&error.error), field, "{id:?}");
            assert!(error.request_id.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
    }
    assert_eq!(t.call_count(), 0);
    let edge = "~".repeat(256);
    let r = h
        .run(json!("q"), json!({ "requestId": edge, "traceId": " !~" }))
        .unwrap();
    assert_eq!((r.request_id.len(), r.trace_id.as_str()), (256, " !~"));
    // An invalid incoming traceparent is ignored (W3C), not an error.
    let r = h
        .run(json!("q"), json!({ "traceparent": "00-\r\nx-injected: 1-01" }))
        .unwrap();
    assert_eq!(r.trace_id, r.request_id);
}
