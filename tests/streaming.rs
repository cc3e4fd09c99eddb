//! Streaming runs on a virtual clock: before the first chunk every rule of a
//! run applies and the consumer sees nothing of failed attempts; after it,
//! nothing restarts silently.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use reliable_orchestrator::testing::{Piece, Step};
use reliable_orchestrator::{ChunkSink, OrchestratorError, RunError, RunOptions, RunResult, ToolError, Usage};
use serde_json::{json, Value};

#[derive(Default)]
struct Collected(RefCell<Vec<String>>);

impl ChunkSink for Collected {
    fn chunk(&self, text: &str) {
        self.0.borrow_mut().push(text.to_owned());
    }
}

fn stream_run(h: &Harness, options: Value) -> (Result<RunResult<Value>, RunError<Value>>, Vec<String>) {
    let sink = Rc::new(Collected::default());
    let mut options = RunOptions::from_json(&options).expect("options");
    options.chunks = Some(sink.clone());
    let result = h
        .clock
        .run(h.orchestrator.run(json!("q"), options))
        .expect("run finishes");
    let chunks = sink.0.borrow().clone();
    (result, chunks)
}

fn text(t: &str) -> Piece {
    Piece::Text(t.into())
}

fn config(extra: Value) -> Value {
    let mut base = json!({
        "defaultTools": ["a", "b"],
        "reliability": { "retryPolicy": exact_retry(3), "circuitBreakers": { "pa": { "failureThreshold": 2 } } },
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
        base.extend(extra);
    }
    base
}

#[test]
fn chunks_arrive_in_order_and_the_result_is_the_whole_text() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock).then(Step::Stream(vec![
            text("Hel"),
            Piece::Wait(10.0),
            text("lo"),
            Piece::Usage(Usage::new(3, 2, None)),
        ])),
    );
    let b = tool("pb", &clock);
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({}));
    let result = result.unwrap();
    assert_eq!(chunks, ["Hel", "lo"]);
    assert_eq!(result.output, json!("Hello"));
    assert_eq!(result.usage.total_tokens, 5);
    assert_eq!(h.field_of("first_chunk", "toolName"), [json!("a")]);
    assert_eq!(h.field_of("stream_end", "chunks"), [json!(2)]);
}

#[test]
fn failures_before_the_first_chunk_are_retried_and_invisible() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock)
            .then(Step::Stream(vec![Piece::Fail(ToolError::from_status(503, "busy"))]))
            .then(Step::Stream(vec![text("ok")])),
    );
    let b = tool("pb", &clock);
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({}));
    assert_eq!(result.unwrap().attempts, 2);
    assert_eq!(chunks, ["ok"]);
    assert_eq!(h.field_of("retry", "reason"), [json!("server")]);
}

#[test]
fn a_slow_first_chunk_is_a_retryable_timeout_that_counts_against_the_breaker() {
    let clock = clock();
    let slow = Step::Stream(vec![Piece::Wait(5_000.0), text("late")]);
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock)
            .then(slow.clone())
            .then(slow),
    );
    let b = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pb", &clock).then(Step::Stream(vec![text("from b")])),
    );
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({ "firstChunkTimeoutMs": 100 }));
    let result = result.unwrap();
    assert_eq!(result.tool_name, "b");
    assert_eq!(chunks, ["from b"]);
    assert_eq!(h.field_of("retry", "reason"), [json!("timeout")]);
    assert_eq!(h.orchestrator.circuit_states()["pa"].state.as_str(), "open");
}

#[test]
fn a_stream_cut_after_it_began_fails_with_the_partial_text_and_counts() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock).then(Step::Stream(vec![
            text("par"),
            text("tial"),
            Piece::Fail(ToolError::network("connection reset")),
        ])),
    );
    let b = tool("pb", &clock);
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({}));
    let error = result.unwrap_err();
    match &error.error {
        OrchestratorError::StreamInterrupted { reason, partial, .. } => {
            assert_eq!(reason.as_str(), "cut");
            assert_eq!(partial, "partial");
        }
        other => panic!("expected StreamInterrupted, got {other:?}"),
    }
    assert_eq!(error.output, Some(json!("partial")));
    assert_eq!(chunks, ["par", "tial"]);
    assert_eq!(a.call_count(), 1, "nothing restarts silently");
    assert_eq!(b.call_count(), 0);
    assert_eq!(h.orchestrator.circuit_states()["pa"].failures, 1);
    assert_eq!(h.field_of("stream_interrupted", "reason"), [json!("cut")]);
}

#[test]
fn a_stall_past_the_idle_timeout_is_an_interruption() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock)
            .then(Step::Stream(vec![text("a"), Piece::Stall])),
    );
    let b = tool("pb", &clock);
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, _) = stream_run(&h, json!({ "idleTimeoutMs": 250 }));
    match result.unwrap_err().error {
        OrchestratorError::StreamInterrupted { reason, .. } => assert_eq!(reason.as_str(), "idle_timeout"),
        other => panic!("expected StreamInterrupted, got {other:?}"),
    }
    assert!(a.calls()[0].ctx.signal.is_aborted(), "the upstream call was aborted");
}

#[test]
fn continue_goes_on_with_the_next_tool_from_the_partial_text() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock).then(Step::Stream(vec![
            text("Once upon"),
            Piece::Fail(ToolError::network("cut")),
        ])),
    );
    let b = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pb", &clock).then(Step::Stream(vec![text(" a time")])),
    );
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({ "onInterrupt": "continue" }));
    let result = result.unwrap();
    assert_eq!(result.output, json!("Once upon a time"));
    assert_eq!(chunks, ["Once upon", " a time"]);
    assert_eq!(b.calls()[0].ctx.partial.as_deref(), Some("Once upon"));
    assert_eq!(h.field_of("fallback", "reason"), [json!("stream_interrupted")]);
    assert_eq!(result.attempts, 2);
}

#[test]
fn a_token_budget_stops_the_stream_with_the_partial_output() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock).then(Step::Stream(vec![
            text("first"),
            Piece::Usage(Usage::new(5, 5, None)),
            text("second"),
            Piece::Usage(Usage::new(0, 20, None)),
            text("never"),
        ])),
    );
    let b = tool("pb", &clock);
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({ "budget": { "tokens": 20 } }));
    let error = result.unwrap_err();
    assert!(
        matches!(error.error, OrchestratorError::BudgetExceeded { .. }),
        "{:?}",
        error.error
    );
    assert_eq!(error.output, Some(json!("firstsecond")));
    assert_eq!(chunks, ["first", "second"]);
    assert!(a.calls()[0].ctx.signal.is_aborted(), "the upstream call was aborted");
}

#[test]
fn the_run_deadline_covers_the_whole_stream() {
    let clock = clock();
    let a = Rc::new(
        reliable_orchestrator::testing::ScriptedTool::new("pa", &clock).then(Step::Stream(vec![
            text("a"),
            Piece::Wait(10_000.0),
            text("b"),
        ])),
    );
    let b = tool("pb", &clock);
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], None);
    let (result, chunks) = stream_run(&h, json!({ "timeoutMs": 1000 }));
    let error = result.unwrap_err();
    assert_eq!(error.error.code(), "timeout");
    assert_eq!(error.output, Some(json!("a")));
    assert_eq!(chunks, ["a"]);
}

#[test]
fn a_whole_tool_streams_as_one_chunk_and_a_keyed_stream_replays() {
    let clock = clock();
    let a = Rc::new(reliable_orchestrator::testing::ScriptedTool::new("pa", &clock).then(ok("whole answer")));
    let b = tool("pb", &clock);
    let store: Rc<dyn reliable_orchestrator::KvStore> = Rc::new(reliable_orchestrator::MemoryKv::new(clock.clone()));
    let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], Some(store));
    let (first, chunks) = stream_run(&h, json!({ "idempotencyKey": "s" }));
    assert_eq!(first.unwrap().output, json!("whole answer"));
    assert_eq!(chunks, ["whole answer"]);
    let (replay, replayed_chunks) = stream_run(&h, json!({ "idempotencyKey": "s" }));
    let replay = replay.unwrap();
    assert!(replay.cached);
    assert_eq!(replay.output, json!("whole answer"));
    assert!(
        replayed_chunks.is_empty(),
        "a replay delivers no chunks itself: the driver yields its output"
    );
    assert_eq!(a.call_count(), 1);
}

mod providers {
    use super::*;
    use reliable_orchestrator::testing::{Reply, ScriptedHttp};
    use reliable_orchestrator::tools::{AnthropicMessagesTool, OpenAiChatTool};
    use reliable_orchestrator::Tool;

    fn sse(body: &str) -> Reply {
        Reply::Respond(
            200,
            vec![("content-type".into(), "text/event-stream".into())],
            body.to_owned(),
        )
    }

    fn openai_events(texts: &[&str], done: bool) -> String {
        let mut out = String::new();
        for t in texts {
            out.push_str(&format!(
                "data: {}\n\n",
                json!({ "choices": [{ "delta": { "content": t }, "finish_reason": null }] })
            ));
        }
        out.push_str(&format!(
            "data: {}\n\n",
            json!({ "choices": [{ "delta": {}, "finish_reason": "stop" }] })
        ));
        out.push_str(&format!(
            "data: {}\n\n",
            json!({ "choices": [], "usage": { "prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7 } })
        ));
        if done {
            out.push_str("data: [DONE]\n\n");
        }
        out
    }

    fn gpt(http: &Rc<ScriptedHttp>) -> Rc<dyn Tool<Value>> {
        let config = json!({ "apiKey": "sk-x", "model": "gpt-4o-mini", "baseUrl": "http://mock/v1" });
        Rc::new(OpenAiChatTool::from_json(&config, "tools.gpt", http.clone()).unwrap())
    }

    fn claude(http: &Rc<ScriptedHttp>) -> Rc<dyn Tool<Value>> {
        let config = json!({ "apiKey": "k", "model": "claude-3-5-haiku-latest", "baseUrl": "http://mock/v1" });
        Rc::new(AnthropicMessagesTool::from_json(&config, "tools.claude", http.clone()).unwrap())
    }

    fn setup(
        clock: &Rc<reliable_orchestrator::testing::VirtualClock>,
        tools: Vec<(&str, Rc<dyn Tool<Value>>)>,
    ) -> Harness {
        let names: Vec<&str> = tools.iter().map(|(n, _)| *n).collect();
        harness_with(
            clock,
            json!({ "defaultTools": names, "reliability": { "retryPolicy": exact_retry(3) } }),
            tools,
            None,
        )
    }

    #[test]
    fn openai_streams_with_usage_and_the_request_asks_for_it() {
        let clock = clock();
        let http = ScriptedHttp::new(&clock);
        http.then(sse(&openai_events(&["Hel", "lo"], true)));
        let h = setup(&clock, vec![("gpt", gpt(&http))]);
        let (result, chunks) = stream_run(&h, json!({}));
        let result = result.unwrap();
        assert_eq!(chunks, ["Hel", "lo"]);
        assert_eq!(result.output, json!("Hello"));
        assert_eq!(result.usage.total_tokens, 7);
        assert_eq!(result.finish_reason.as_deref(), Some("stop"));
        assert!(result.cost_usd.is_some(), "priced from the streamed usage");
        let body: Value = serde_json::from_str(http.requests()[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(body["stream"], json!(true));
        assert_eq!(body["stream_options"]["include_usage"], json!(true));
    }

    #[test]
    fn a_429_before_the_stream_is_retried_and_a_missing_done_is_no_terminal() {
        let clock = clock();
        let http = ScriptedHttp::new(&clock);
        http.then(Reply::json_with(
            429,
            &[("retry-after", "1")],
            json!({ "error": { "message": "slow", "type": "requests", "code": "rate_limit_exceeded" } }),
        ));
        http.then(sse(&openai_events(&["part"], false)));
        let h = setup(&clock, vec![("gpt", gpt(&http))]);
        let (result, chunks) = stream_run(&h, json!({}));
        assert_eq!(h.field_of("retry", "delayMs"), [json!(1000.0)]);
        assert_eq!(chunks, ["part"]);
        match result.unwrap_err().error {
            OrchestratorError::StreamInterrupted { reason, partial, .. } => {
                assert_eq!(reason.as_str(), "no_terminal");
                assert_eq!(partial, "part");
            }
            other => panic!("expected StreamInterrupted, got {other:?}"),
        }
    }

    #[test]
    fn anthropic_streams_and_an_overloaded_event_continues_on_openai() {
        let clock = clock();
        let anthropic_http = ScriptedHttp::new(&clock);
        anthropic_http.then(sse(concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Once upon \"}}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        )));
        let openai_http = ScriptedHttp::new(&clock);
        openai_http.then(sse(&openai_events(&["a time"], true)));
        let h = setup(
            &clock,
            vec![("claude", claude(&anthropic_http)), ("gpt", gpt(&openai_http))],
        );
        let (result, chunks) = stream_run(&h, json!({ "onInterrupt": "continue" }));
        let result = result.unwrap();
        assert_eq!(chunks, ["Once upon ", "a time"]);
        assert_eq!(result.output, json!("Once upon a time"));
        assert_eq!(h.field_of("stream_interrupted", "reason"), [json!("provider_error")]);
        // The continuation carries the partial text as the assistant's turn, then asks to go on.
        let body: Value = serde_json::from_str(openai_http.requests()[0].body.as_deref().unwrap()).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(
            messages[messages.len() - 2],
            json!({ "role": "assistant", "content": "Once upon " })
        );
        assert_eq!(messages[messages.len() - 1]["role"], json!("user"));
        let anthropic_body: Value =
            serde_json::from_str(anthropic_http.requests()[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(anthropic_body["stream"], json!(true));
    }

    #[test]
    fn a_malformed_event_is_an_interruption() {
        let clock = clock();
        let http = ScriptedHttp::new(&clock);
        http.then(sse(&format!(
            "data: {}\n\ndata: {{broken\n\n",
            json!({ "choices": [{ "delta": { "content": "ok" } }] })
        )));
        let h = setup(&clock, vec![("gpt", gpt(&http))]);
        let (result, chunks) = stream_run(&h, json!({}));
        assert_eq!(chunks, ["ok"]);
        match result.unwrap_err().error {
            OrchestratorError::StreamInterrupted { reason, .. } => assert_eq!(reason.as_str(), "malformed"),
            other => panic!("expected StreamInterrupted, got {other:?}"),
        }
    }
}

mod joined {
    use super::*;
    use reliable_orchestrator::testing::ScriptedTool;
    use reliable_orchestrator::{AbortReason, AbortSignal, KvStore, MemoryKv};

    fn keyed_stream(sink: &Rc<Collected>, signal: Option<AbortSignal>) -> RunOptions {
        let mut options = RunOptions::from_json(&json!({ "idempotencyKey": "shared" })).unwrap();
        options.chunks = Some(sink.clone());
        options.signal = signal;
        options
    }

    #[test]
    fn a_duplicate_in_the_same_isolate_receives_the_chunks_as_they_come() {
        let clock = clock();
        let a = Rc::new(ScriptedTool::new("pa", &clock).then(Step::Stream(vec![
            text("Hel"),
            Piece::Wait(10.0),
            text("lo"),
        ])));
        let b = tool("pb", &clock);
        let store: Rc<dyn KvStore> = Rc::new(MemoryKv::new(clock.clone()));
        let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], Some(store));
        let (first, second) = (Rc::new(Collected::default()), Rc::new(Collected::default()));
        let runs = vec![
            Box::pin(h.orchestrator.run(json!("q"), keyed_stream(&first, None)))
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(h.orchestrator.run(json!("q"), keyed_stream(&second, None))),
        ];
        let results = clock.run_all(runs).unwrap();
        assert_eq!(a.call_count(), 1, "one execution");
        assert_eq!(*first.0.borrow(), ["Hel", "lo"]);
        assert_eq!(second.0.borrow().concat(), "Hello");
        assert!(second.0.borrow().len() >= 2, "the duplicate streamed too");
        assert!(results[1].as_ref().unwrap().cached);
        assert_eq!(results[1].as_ref().unwrap().output, json!("Hello"));
    }

    #[test]
    fn a_follower_whose_leader_was_aborted_continues_from_what_it_saw() {
        let clock = clock();
        let a = Rc::new(
            ScriptedTool::new("pa", &clock)
                .then(Step::Stream(vec![
                    text("Once upon"),
                    Piece::Wait(1_000.0),
                    text(" never"),
                ]))
                .then(Step::Stream(vec![text(" a time")])),
        );
        let b = tool("pb", &clock);
        let store: Rc<dyn KvStore> = Rc::new(MemoryKv::new(clock.clone()));
        let h = harness(&clock, config(json!({})), &[("a", &a), ("b", &b)], Some(store));
        let (first, second) = (Rc::new(Collected::default()), Rc::new(Collected::default()));
        let leader_signal = AbortSignal::new();
        let aborter = {
            let clock = clock.clone();
            let signal = leader_signal.clone();
            async move {
                reliable_orchestrator::Sleeper::sleep(&*clock, 100.0).await;
                signal.abort(AbortReason::Aborted);
                Err(RunError {
                    error: OrchestratorError::Aborted,
                    trace_id: String::new(),
                    request_id: String::new(),
                    output: None,
                })
            }
        };
        let runs = vec![
            Box::pin(
                h.orchestrator
                    .run(json!("q"), keyed_stream(&first, Some(leader_signal))),
            ) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(h.orchestrator.run(json!("q"), keyed_stream(&second, None))),
            Box::pin(aborter),
        ];
        let results = clock.run_all(runs).unwrap();
        assert_eq!(results[0].as_ref().unwrap_err().error.code(), "aborted");
        let follower = results[1].as_ref().unwrap();
        assert_eq!(follower.output, json!("Once upon a time"));
        assert_eq!(second.0.borrow().concat(), "Once upon a time", "no text twice");
        assert_eq!(a.calls()[1].ctx.partial.as_deref(), Some("Once upon"));
    }
}
