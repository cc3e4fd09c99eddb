//! Built-in provider tools against a scripted HTTP client: the wire formats,
//! header mapping, usage and cost, every failure class, Retry-After forms,
//! budget pre-checks, and API keys kept out of everything users can see.
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
use reliable_orchestrator::testing::{Reply, ScriptedHttp, VirtualClock};
use reliable_orchestrator::tools::{AnthropicMessagesTool, OpenAiChatTool};
use reliable_orchestrator::{BudgetType, MemoryKv, OrchestratorError, Tool, ToolErrorCategory};
use serde_json::{json, Value};

const KEY: &str = "sk-test-0123456789abcdef";

fn openai(http: &Rc<ScriptedHttp>, extra: Value) -> Rc<dyn Tool<Value>> {
    let mut config = json!({ "apiKey": KEY, "model": "gpt-4o-mini", "baseUrl": "http://mock/v1/", "headers": { "X-Gateway": "g1" } });
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    Rc::new(OpenAiChatTool::from_json(&config, "tools.gpt", http.clone()).unwrap())
}

fn anthropic(http: &Rc<ScriptedHttp>) -> Rc<dyn Tool<Value>> {
    let config = json!({ "api_key": KEY, "model": "claude-3-5-haiku-latest", "base_url": "http://mock/v1" });
    Rc::new(AnthropicMessagesTool::from_json(&config, "tools.claude", http.clone()).unwrap())
}

fn openai_ok(text: &str, prompt: u64, completion: u64) -> Reply {
    Reply::json(
        200,
        json!({ "id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion } }),
    )
}

fn setup(clock: &Rc<VirtualClock>, tools: Vec<(&str, Rc<dyn Tool<Value>>)>, retry: Value) -> Harness {
    let config = json!({
        "defaultTools": tools.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "reliability": { "retryPolicy": retry, "circuitBreakers": { "default": { "failureThreshold": 100 } } },
    });
    harness_with(clock, config, tools, None)
}

/// The `max_tokens` of the `index`-th request sent.
fn sent_max_tokens(http: &ScriptedHttp, index: usize) -> u64 {
    let body: Value = serde_json::from_str(http.requests()[index].body.as_deref().unwrap()).unwrap();
    body["max_tokens"].as_u64().unwrap()
}

fn header<'a>(request: &'a reliable_orchestrator::platform::HttpRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn openai_wire_format_headers_usage_and_cost() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.then(openai_ok("Paris", 1000, 500));
    let h = setup(
        &clock,
        vec![("gpt", openai(&http, json!({ "maxTokens": 64 })))],
        exact_retry(1),
    );
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let result = h
        .run(
            json!({ "query": "Capital of France?", "system": "Be brief." }),
            json!({ "traceId": trace, "requestId": "req-1" }),
        )
        .unwrap();
    assert_eq!(result.output, json!("Paris"));
    assert_eq!((result.usage.prompt_tokens, result.usage.total_tokens), (1000, 1500));
    // gpt-4o-mini: $0.15 in, $0.60 out per million.
    assert!((result.cost_usd.unwrap() - (1000.0 * 0.15 + 500.0 * 0.6) / 1e6).abs() < 1e-12);

    let sent = &http.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.url.as_str()),
        ("POST", "http://mock/v1/chat/completions")
    );
    assert_eq!(header(sent, "authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(header(sent, "x-gateway"), Some("g1"));
    assert_eq!(header(sent, "x-request-id"), Some("req-1"));
    let traceparent = header(sent, "traceparent").unwrap();
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")) && traceparent.ends_with("-01"),
        "{traceparent}"
    );
    let body: Value = serde_json::from_str(sent.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "model": "gpt-4o-mini", "max_tokens": 64,
                "messages": [{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Capital of France?" }] })
    );
}

#[test]
fn anthropic_wire_format_and_tool_options() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.then(Reply::json(
        200,
        json!({ "id": "m1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-latest",
                "content": [{ "type": "text", "text": "Par" }, { "type": "text", "text": "is" }],
                "stop_reason": "end_turn", "usage": { "input_tokens": 20, "output_tokens": 5 } }),
    ));
    let h = setup(&clock, vec![("claude", anthropic(&http))], exact_retry(1));
    let messages = json!([{ "role": "user", "content": "Capital of France?" }]);
    let result = h
        .run(
            json!({ "messages": messages, "system": "Be brief." }),
            json!({ "toolName": "claude", "toolOptions": { "model": "claude-sonnet-4-20250514", "temperature": 0.5 } }),
        )
        .unwrap();
    assert_eq!(result.output, json!("Paris"));
    assert_eq!(
        (
            result.usage.prompt_tokens,
            result.usage.completion_tokens,
            result.usage.total_tokens
        ),
        (20, 5, 25)
    );
    // Priced as the model actually called (claude-sonnet-4: $3 / $15).
    assert!((result.cost_usd.unwrap() - (20.0 * 3.0 + 5.0 * 15.0) / 1e6).abs() < 1e-12);
    let sent = &http.requests()[0];
    assert_eq!(sent.url, "http://mock/v1/messages");
    assert_eq!(header(sent, "x-api-key"), Some(KEY));
    assert_eq!(header(sent, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(header(sent, "authorization"), None);
    let body: Value = serde_json::from_str(sent.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "model": "claude-sonnet-4-20250514", "max_tokens": 1024, "temperature": 0.5,
                "system": "Be brief.", "messages": messages })
    );
}

/// Runs one call that meets `reply` (no retries) and returns how it failed.
fn classify(reply: Reply, options: Value) -> (ToolErrorCategory, u32, String) {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(reply);
    let h = setup(&clock, vec![("gpt", openai(&http, json!({})))], exact_retry(3));
    let error = h.run(json!("q"), options).unwrap_err().error;
    match error {
        OrchestratorError::ToolExecution {
            category,
            attempts,
            cause,
            ..
        } => (category, attempts, cause.map(|c| c.message).unwrap_or_default()),
        other => panic!("expected a tool failure, got {other:?}"),
    }
}

#[test]
fn every_failure_class() {
    let body = |kind: &str| json!({ "error": { "type": kind, "message": "m" } });
    let cases = [
        (Reply::json(429, body("requests")), ToolErrorCategory::RateLimit, 3),
        (
            Reply::json(
                429,
                json!({ "error": { "type": "insufficient_quota", "code": "insufficient_quota", "message": "pay" } }),
            ),
            ToolErrorCategory::RateLimit,
            1,
        ),
        (Reply::json(500, body("server_error")), ToolErrorCategory::Server, 3),
        (
            Reply::json(
                529,
                json!({ "type": "error", "error": { "type": "overloaded_error", "message": "busy" } }),
            ),
            ToolErrorCategory::Server,
            3,
        ),
        (
            Reply::Respond(502, vec![], "<html>bad gateway</html>".into()),
            ToolErrorCategory::Server,
            3,
        ),
        (Reply::json(408, body("timeout")), ToolErrorCategory::Timeout, 3),
        (
            Reply::json(400, body("invalid_request_error")),
            ToolErrorCategory::Client,
            1,
        ),
        (
            Reply::json(401, body("authentication_error")),
            ToolErrorCategory::Client,
            1,
        ),
        (Reply::json(404, body("not_found_error")), ToolErrorCategory::Client, 1),
        (Reply::json(422, body("unprocessable")), ToolErrorCategory::Client, 1),
        (
            Reply::Network("connection refused".into()),
            ToolErrorCategory::Network,
            3,
        ),
        (
            Reply::Respond(200, vec![], "{\"choices\": [".into()),
            ToolErrorCategory::InvalidOutput,
            3,
        ),
        (
            Reply::json(200, json!({ "choices": [] })),
            ToolErrorCategory::InvalidOutput,
            3,
        ),
    ];
    for (reply, category, attempts) in cases {
        let description = format!("{reply:?}");
        let (got, got_attempts, _) = classify(reply, json!({}));
        assert_eq!((got, got_attempts), (category, attempts), "{description}");
    }
    // A slow provider meets the attempt timeout through its abort signal.
    let slow = openai_ok("late", 1, 1).after(5_000.0);
    let (category, attempts, _) = classify(slow, json!({ "attemptTimeoutMs": 1000 }));
    assert_eq!((category, attempts), (ToolErrorCategory::Timeout, 3));
}

#[test]
fn retry_after_in_seconds_dates_and_ms() {
    let date = httpdate_in(3);
    let cases = [
        (vec![("retry-after", "2")], 2000.0),
        (vec![("retry-after", date.as_str())], 3000.0),
        (vec![("retry-after-ms", "250"), ("retry-after", "9")], 250.0),
    ];
    for (headers, delay) in cases {
        let clock = clock();
        let http = ScriptedHttp::new(&clock);
        http.then(Reply::json_with(
            429,
            &headers,
            json!({ "error": { "type": "rate_limit_error", "message": "slow" } }),
        ))
        .then(openai_ok("ok", 1, 1));
        let h = setup(&clock, vec![("gpt", openai(&http, json!({})))], exact_retry(3));
        let result = h.run(json!("q"), json!({})).unwrap();
        assert_eq!(result.attempts, 2);
        assert_eq!(h.field_of("retry", "delayMs"), vec![json!(delay)], "{headers:?}");
    }
}

/// An HTTP-date `seconds` after the harness's wall-clock start.
fn httpdate_in(seconds: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(WALL_START as u64 + seconds * 1000);
    httpdate::fmt_http_date(at)
}

#[test]
fn api_keys_never_reach_errors_events_or_records() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    let echo = format!("Incorrect API key provided: {KEY}. Masked: sk-tes****cdef.");
    http.then(Reply::json(
        401,
        json!({ "error": { "type": "invalid_request_error", "code": "invalid_api_key", "message": echo } }),
    ))
    .then(openai_ok("fine", 3, 4));
    let store = Rc::new(MemoryKv::new(clock.clone()));
    let h = harness_with(
        &clock,
        json!({ "defaultTools": ["gpt"], "reliability": { "idempotencyEnabled": true } }),
        vec![("gpt", openai(&http, json!({})))],
        Some(store.clone()),
    );
    let error = h.run(json!("q"), json!({ "idempotencyKey": "k1" })).unwrap_err();
    let shown = format!("{} {:?}", error.error, error.error);
    assert!(shown.contains("invalid_api_key"), "{shown}");
    let result = h.run(json!("q"), json!({ "idempotencyKey": "k2" })).unwrap();
    assert_eq!(result.output, json!("fine"));
    let everything = format!("{shown} {:?} {:?}", h.events.json(), store.entries());
    assert!(!store.entries().is_empty());
    for secret in [KEY, "0123456789abcdef", "sk-tes"] {
        assert!(!everything.contains(secret), "`{secret}` leaked: {everything}");
    }
    let tool_debug = format!("{:?}", reliable_orchestrator::tools::ApiKey::default());
    assert!(tool_debug.contains("redacted"));
}

#[test]
fn budget_pre_checks_fit_max_tokens_and_unknown_prices_fail_closed() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_ok("ok", 1, 1));
    let h = setup(
        &clock,
        vec![
            ("gpt", openai(&http, json!({ "maxTokens": 500 }))),
            ("local", openai(&http, json!({ "model": "local-llama" }))),
        ],
        exact_retry(1),
    );
    // 500 output tokens cannot fit in 300: the call is sent with its limit lowered to what is left.
    h.run(json!("q"), json!({ "toolName": "gpt", "budget": { "tokens": 300 } }))
        .unwrap();
    let max = sent_max_tokens(&http, 0);
    assert!((290..300).contains(&max), "{max}");
    assert_eq!(h.events_of("attempt").last().unwrap()["fittedMaxTokens"], json!(max));
    // The request's own max_tokens is fitted too.
    h.run(
        json!({ "query": "q", "max_tokens": 400 }),
        json!({ "toolName": "local", "budget": { "tokens": 300 } }),
    )
    .unwrap();
    assert!(sent_max_tokens(&http, 1) < 300);
    // A limit that fits is left alone, and the attempt event says nothing.
    h.run(json!("q"), json!({ "toolName": "gpt", "budget": { "tokens": 5000 } }))
        .unwrap();
    assert_eq!(sent_max_tokens(&http, 2), 500);
    assert!(h.events_of("attempt").last().unwrap().get("fittedMaxTokens").is_none());
    // A prompt that alone cannot fit is refused: nothing spent, what it needed as `requested`.
    let error = h
        .run(
            json!("x".repeat(2000)),
            json!({ "toolName": "gpt", "budget": { "tokens": 300 } }),
        )
        .unwrap_err();
    match error.error {
        OrchestratorError::BudgetExceeded {
            budget_type,
            limit,
            spent,
            requested,
        } => {
            assert_eq!((budget_type, limit, spent), (BudgetType::Tokens, 300.0, 0.0));
            assert!(
                requested.unwrap() > 300.0 && requested.unwrap() < 1000.0,
                "{requested:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(http.requests().len(), 3, "the refused call was not sent");
    // A model with no price cannot be held to a cost budget.
    let error = h
        .run(json!("q"), json!({ "toolName": "local", "budget": { "costUsd": 1.0 } }))
        .unwrap_err();
    match &error.error {
        OrchestratorError::InvalidConfig { field, message } => {
            assert_eq!(field, "tools.local.pricing");
            assert!(message.contains("local-llama"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(http.requests().len(), 3, "nothing was sent");
    // Without a cost budget it runs, and its cost is unknown.
    let result = h.run(json!("q"), json!({ "toolName": "local" })).unwrap();
    assert_eq!(result.cost_usd, None);
    // With a user price it is priced.
    let priced = Rc::new(
        OpenAiChatTool::from_json(
            &json!({ "model": "local-llama", "baseUrl": "http://mock/v1", "pricing": { "local-llama": { "inputPerMTok": 1.0, "outputPerMTok": 2.0 } } }),
            "tools.p",
            http.clone(),
        )
        .unwrap(),
    );
    let h = setup(&clock, vec![("p", priced)], exact_retry(1));
    let result = h.run(json!("q"), json!({ "budget": { "costUsd": 1.0 } })).unwrap();
    assert!((result.cost_usd.unwrap() - 3.0 / 1e6).abs() < 1e-15);
}

#[test]
fn config_errors_name_the_field() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    let cases = [
        (json!({ "apiKey": "k" }), "tools.gpt"),
        (json!({ "model": "" }), "tools.gpt.model"),
        (json!({ "model": "m", "baseUrl": "ftp://x" }), "tools.gpt.baseUrl"),
        (json!({ "model": "m", "maxTokens": 0 }), "tools.gpt.maxTokens"),
        (
            json!({ "model": "m", "pricing": { "m": { "inputPerMTok": -1, "outputPerMTok": 1 } } }),
            "tools.gpt.pricing.m.inputPerMTok",
        ),
        (json!({ "model": "m", "apikey": "typo" }), "tools.gpt.apikey"),
    ];
    for (config, field) in cases {
        let error = OpenAiChatTool::from_json(&config, "tools.gpt", http.clone())
            .err()
            .unwrap();
        match error {
            OrchestratorError::InvalidConfig { field: got, message } => assert_eq!(got, field, "{config}: {message}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_header_the_caller_made_invalid_is_a_client_error_that_never_trips_the_breaker() {
    use reliable_orchestrator::tools::ProviderConfig;
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_ok("ok", 1, 1));
    // Read from config, it is refused up front, naming the header.
    for (name, value) in [("x-gw", "a\r\nx-injected: 1"), ("x-gw", "\u{2603}"), ("bad name", "v")] {
        let config = json!({ "model": "m", "headers": { name: value } });
        match OpenAiChatTool::from_json(&config, "tools.gpt", http.clone())
            .err()
            .unwrap()
        {
            OrchestratorError::InvalidConfig { field, .. } => {
                assert!(field.starts_with("tools.gpt.headers."), "{field}")
            }
            other => panic!("{other:?}"),
        }
    }
    // Built in Rust past that check, the call is refused before it is sent.
    let mut config = ProviderConfig {
        model: "gpt-4o-mini".into(),
        base_url: Some("http://mock/v1".into()),
        ..ProviderConfig::default()
    };
    config.headers.insert("x-gw".into(), "a\nb".into());
    let bad: Rc<dyn Tool<Value>> = Rc::new(OpenAiChatTool::new(config, http.clone()));
    let cfg = json!({
        "defaultTools": ["gpt"],
        "reliability": { "retryPolicy": exact_retry(3), "circuitBreakers": { "openai": { "failureThreshold": 1 } } },
    });
    let h = harness_with(&clock, cfg, vec![("gpt", bad)], None);
    for _ in 0..3 {
        let error = h.run(json!("q"), json!({})).unwrap_err();
        match error.error {
            OrchestratorError::ToolExecution { category, attempts, .. } => {
                assert_eq!((category, attempts), (ToolErrorCategory::Client, 1));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(http.requests().is_empty());
    let states = h.orchestrator.circuit_states();
    assert_eq!(states["openai"].state, reliable_orchestrator::CircuitState::Closed);
    assert_eq!(states["openai"].failures, 0);
}

#[test]
fn anthropic_default_max_tokens_fit_a_small_token_budget() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(Reply::json(
        200,
        json!({ "type": "message", "content": [{ "type": "text", "text": "hi" }],
                "usage": { "input_tokens": 5, "output_tokens": 2 } }),
    ));
    let h = setup(&clock, vec![("claude", anthropic(&http))], exact_retry(1));
    // Its default maxTokens (1024) used to count in full, refusing every call under ~1035 tokens.
    let r = h.run(json!("hello"), json!({ "budget": { "tokens": 200 } })).unwrap();
    assert_eq!(r.output, json!("hi"));
    let max = sent_max_tokens(&http, 0);
    assert!((180..200).contains(&max), "{max}");
    assert_eq!(h.events_of("attempt")[0]["fittedMaxTokens"], json!(max));
    assert!(h.events_of("budget").is_empty());
}
