//! Built-in provider tools keep every valid reply: tool calls, refusals,
//! content parts, content-filter and truncated finishes are successes with a
//! normalised `message`; `validate` turns an unwanted reply into a retryable
//! `invalid_output`; requests pass tools, tool choice and response format
//! through; OpenAI-compatible options (`max_completion_tokens`, `auth`,
//! `query`) and error bodies sent with HTTP 200.
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
use reliable_orchestrator::platform::HttpRequest;
use reliable_orchestrator::testing::{Reply, ScriptedHttp, VirtualClock};
use reliable_orchestrator::tools::{AnthropicMessagesTool, OpenAiChatTool, Validated};
use reliable_orchestrator::{MemoryKv, OrchestratorError, RunOptions, Tool, ToolErrorCategory, Validator};
use serde_json::{json, Value};

const KEY: &str = "sk-test-0123456789abcdef";

fn with(base: Value, extra: Value) -> Value {
    let mut config = base;
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    config
}

fn openai(http: &Rc<ScriptedHttp>, extra: Value) -> Rc<dyn Tool<Value>> {
    let config = with(
        json!({ "apiKey": KEY, "model": "gpt-4o-mini", "baseUrl": "http://mock/v1" }),
        extra,
    );
    Rc::new(OpenAiChatTool::from_json(&config, "tools.gpt", http.clone()).unwrap())
}

fn anthropic(http: &Rc<ScriptedHttp>, extra: Value) -> Rc<dyn Tool<Value>> {
    let config = with(
        json!({ "apiKey": KEY, "model": "claude-3-5-haiku-latest", "baseUrl": "http://mock/v1" }),
        extra,
    );
    Rc::new(AnthropicMessagesTool::from_json(&config, "tools.claude", http.clone()).unwrap())
}

fn setup(clock: &Rc<VirtualClock>, tools: Vec<(&str, Rc<dyn Tool<Value>>)>, attempts: u32) -> Harness {
    let config = json!({
        "defaultTools": tools.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "reliability": { "retryPolicy": exact_retry(attempts), "circuitBreakers": { "default": { "failureThreshold": 100 } } },
    });
    harness_with(clock, config, tools, None)
}

fn openai_reply(message: Value, finish: &str) -> Reply {
    Reply::json(
        200,
        json!({ "id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{ "index": 0, "message": message, "finish_reason": finish }],
                "usage": { "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 } }),
    )
}

fn openai_text(text: &str) -> Reply {
    openai_reply(json!({ "role": "assistant", "content": text }), "stop")
}

fn body(request: &HttpRequest) -> Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// One run of the OpenAI tool against `reply`: the result's output and message.
fn openai_once(reply: Reply) -> (Value, Value) {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.then(reply);
    let h = setup(&clock, vec![("gpt", openai(&http, json!({})))], 3);
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!((result.attempts, http.requests().len()), (1, 1));
    (result.output, result.message.unwrap())
}

#[test]
fn openai_tool_calls_refusals_parts_and_filtered_or_truncated_replies_are_successes() {
    let calls = json!({ "role": "assistant", "content": null, "tool_calls": [
        { "id": "call_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" } },
        { "id": "call_2", "type": "function", "function": { "name": "raw", "arguments": "{not json" } },
    ] });
    let (output, message) = openai_once(openai_reply(calls, "tool_calls"));
    assert_eq!(output, json!(""));
    assert_eq!(
        message,
        json!({ "text": "", "refusal": null, "finishReason": "tool_calls", "toolCalls": [
            { "id": "call_1", "name": "weather", "arguments": { "city": "Paris" } },
            { "id": "call_2", "name": "raw", "arguments": "{not json" },
        ] })
    );

    let refusal = json!({ "role": "assistant", "content": null, "refusal": "I can't help with that." });
    let (output, message) = openai_once(openai_reply(refusal, "stop"));
    assert_eq!(
        (output, &message["refusal"]),
        (json!(""), &json!("I can't help with that."))
    );

    let parts = json!({ "role": "assistant", "content": [{ "type": "text", "text": "Par" }, { "type": "text", "text": "is" }] });
    let (output, message) = openai_once(openai_reply(parts, "stop"));
    assert_eq!((output, &message["text"]), (json!("Paris"), &json!("Paris")));

    let filtered = json!({ "role": "assistant", "content": null });
    let (_, message) = openai_once(openai_reply(filtered, "content_filter"));
    assert_eq!(message["finishReason"], json!("content_filter"));

    let truncated = json!({ "role": "assistant", "content": "Once upon a" });
    let (output, message) = openai_once(openai_reply(truncated, "length"));
    assert_eq!(
        (output, &message["finishReason"]),
        (json!("Once upon a"), &json!("length"))
    );
}

#[test]
fn a_reply_with_no_message_is_still_malformed() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(Reply::json(200, json!({ "choices": [] })));
    let h = setup(&clock, vec![("gpt", openai(&http, json!({})))], 2);
    let error = h.run(json!("q"), json!({})).unwrap_err().error;
    assert!(matches!(
        error,
        OrchestratorError::ToolExecution {
            category: ToolErrorCategory::InvalidOutput,
            attempts: 2,
            ..
        }
    ));
}

#[test]
fn anthropic_tool_use_refusal_and_max_tokens() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    let reply = |content: Value, stop: &str| {
        Reply::json(
            200,
            json!({ "id": "m1", "type": "message", "role": "assistant", "content": content,
                    "stop_reason": stop, "usage": { "input_tokens": 20, "output_tokens": 5 } }),
        )
    };
    http.then(reply(
        json!([{ "type": "text", "text": "Let me look." }, { "type": "tool_use", "id": "toolu_1", "name": "weather", "input": { "city": "Paris" } }]),
        "tool_use",
    ))
    .then(reply(json!([]), "refusal"))
    .then(reply(json!([{ "type": "text", "text": "Once upon" }]), "max_tokens"));
    let h = setup(&clock, vec![("claude", anthropic(&http, json!({})))], 3);
    let first = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(first.output, json!("Let me look."));
    assert_eq!(
        first.message.unwrap(),
        json!({ "text": "Let me look.", "refusal": null, "finishReason": "tool_calls",
                "toolCalls": [{ "id": "toolu_1", "name": "weather", "arguments": { "city": "Paris" } }] })
    );
    let refused = h.run(json!("q"), json!({})).unwrap().message.unwrap();
    assert_eq!(
        (&refused["refusal"], &refused["finishReason"]),
        (&json!(""), &json!("content_filter"))
    );
    let truncated = h.run(json!("q"), json!({})).unwrap();
    assert_eq!(truncated.message.unwrap()["finishReason"], json!("length"));
    assert_eq!(http.requests().len(), 3);
}

#[test]
fn tools_tool_choice_and_response_format_pass_through() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_text("ok"));
    let claude_http = ScriptedHttp::new(&clock);
    claude_http.otherwise(Reply::json(
        200,
        json!({ "content": [{ "type": "text", "text": "ok" }], "stop_reason": "end_turn" }),
    ));
    let h = setup(
        &clock,
        vec![
            ("gpt", openai(&http, json!({}))),
            ("claude", anthropic(&claude_http, json!({}))),
        ],
        1,
    );
    let openai_tools =
        json!([{ "type": "function", "function": { "name": "weather", "parameters": { "type": "object" } } }]);
    let request = json!({ "messages": [{ "role": "user", "content": "hi" }], "system": "brief", "tools": openai_tools,
                          "toolChoice": "required", "responseFormat": { "type": "json_object" } });
    h.run(request, json!({ "toolName": "gpt" })).unwrap();
    let sent = body(&http.requests()[0]);
    assert_eq!(sent["tools"], openai_tools);
    assert_eq!(sent["tool_choice"], json!("required"));
    assert_eq!(sent["response_format"], json!({ "type": "json_object" }));
    assert_eq!(sent["messages"][0], json!({ "role": "system", "content": "brief" }));

    let claude_tools = json!([{ "name": "weather", "input_schema": { "type": "object" } }]);
    let request = json!({ "query": "hi", "system": "brief", "tools": claude_tools, "tool_choice": { "type": "any" },
                          "responseFormat": { "type": "json_object" } });
    h.run(request, json!({ "toolName": "claude" })).unwrap();
    let sent = body(&claude_http.requests()[0]);
    assert_eq!(
        (&sent["tools"], &sent["tool_choice"]),
        (&claude_tools, &json!({ "type": "any" }))
    );
    assert_eq!(sent["system"], json!("brief"));
    assert_eq!(sent["messages"], json!([{ "role": "user", "content": "hi" }]));
    assert!(sent.get("response_format").is_none(), "{sent}");
}

fn no_tool_calls() -> Rc<dyn Validator<Value>> {
    Rc::new(|output: &Value, message: Option<&Value>| {
        let message = message.ok_or("no message")?;
        if output.as_str().is_some_and(|s| s.contains("bad")) {
            return Err("bad text".to_owned());
        }
        match message["toolCalls"].as_array() {
            Some(calls) if calls.is_empty() => Ok(()),
            _ => Err("tool calls".to_owned()),
        }
    })
}

#[test]
fn validate_as_a_run_option_retries_then_falls_back_and_charges_every_call() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.then(openai_text("bad answer")).then(openai_text("good answer"));
    let h = setup(&clock, vec![("gpt", openai(&http, json!({})))], 3);
    let options = RunOptions {
        validate: Some(no_tool_calls()),
        ..RunOptions::default()
    };
    let result = h.run_with(json!("q"), options.clone()).unwrap();
    assert_eq!((result.output, result.attempts), (json!("good answer"), 2));
    assert_eq!(result.usage.total_tokens, 30, "the rejected call was paid for");
    assert_eq!(h.field_of("retry", "reason"), vec![json!("invalid_output")]);

    // Rejected every time: the next tool of the plan gets the run.
    let clock = self::clock();
    let rejected = ScriptedHttp::new(&clock);
    rejected.otherwise(openai_text("bad"));
    let fallback = ScriptedHttp::new(&clock);
    fallback.otherwise(openai_text("fine"));
    let h = setup(
        &clock,
        vec![
            ("a", openai(&rejected, json!({}))),
            ("b", openai(&fallback, json!({ "provider": "other" }))),
        ],
        2,
    );
    let result = h.run_with(json!("q"), options.clone()).unwrap();
    assert_eq!((result.tool_name.as_str(), result.attempts), ("b", 3));

    // With no fallback, the run fails with invalid_output after its attempts.
    let h = setup(&clock, vec![("a", openai(&rejected, json!({})))], 2);
    match h.run_with(json!("q"), options).unwrap_err().error {
        OrchestratorError::ToolExecution {
            category,
            attempts,
            cause,
            ..
        } => {
            assert_eq!((category, attempts), (ToolErrorCategory::InvalidOutput, 2));
            assert!(cause.unwrap().message.contains("rejected by validate: bad text"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn validate_as_a_tool_option_wraps_the_tool() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    let call = json!({ "role": "assistant", "content": null, "tool_calls": [{ "id": "c", "function": { "name": "f", "arguments": "{}" } }] });
    http.then(openai_reply(call, "tool_calls")).then(openai_text("plain"));
    let tool: Rc<dyn Tool<Value>> = Rc::new(Validated::new(openai(&http, json!({})), no_tool_calls()));
    assert_eq!(tool.provider(), "openai");
    let h = setup(&clock, vec![("gpt", tool)], 3);
    let result = h.run(json!("q"), json!({})).unwrap();
    assert_eq!((result.output, result.attempts), (json!("plain"), 2));
}

#[test]
fn replays_keep_the_message() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_text("once"));
    let h = harness_with(
        &clock,
        json!({ "defaultTools": ["gpt"], "reliability": { "idempotencyEnabled": true } }),
        vec![("gpt", openai(&http, json!({})))],
        Some(Rc::new(MemoryKv::new(clock.clone()))),
    );
    let first = h.run(json!("q"), json!({ "idempotencyKey": "k" })).unwrap();
    let again = h.run(json!("q"), json!({ "idempotencyKey": "k" })).unwrap();
    assert!(again.cached);
    assert_eq!(again.message, first.message);
    assert_eq!(again.message.unwrap()["text"], json!("once"));
}

/// The limit key and value the OpenAI tool sends for `config`.
fn sent_limit(config: Value, budget: Option<u64>) -> (String, u64) {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_text("ok"));
    let h = setup(&clock, vec![("gpt", openai(&http, config))], 1);
    let options = budget.map_or(json!({}), |t| json!({ "budget": { "tokens": t } }));
    h.run(json!("q"), options).unwrap();
    let sent = body(&http.requests()[0]);
    let key = ["max_tokens", "max_completion_tokens"]
        .into_iter()
        .find(|k| sent.get(*k).is_some())
        .unwrap();
    assert!(!(sent.get("max_tokens").is_some() && sent.get("max_completion_tokens").is_some()));
    (key.to_owned(), sent[key].as_u64().unwrap())
}

#[test]
fn max_completion_tokens_for_reasoning_models_or_when_asked() {
    let completion = "max_completion_tokens".to_owned();
    assert_eq!(
        sent_limit(json!({ "maxTokens": 50 }), None),
        ("max_tokens".to_owned(), 50)
    );
    assert_eq!(
        sent_limit(json!({ "model": "o3-mini", "maxTokens": 50 }), None),
        (completion.clone(), 50)
    );
    assert_eq!(
        sent_limit(json!({ "model": "gpt-5-mini", "maxTokens": 60 }), None),
        (completion.clone(), 60)
    );
    assert_eq!(
        sent_limit(json!({ "maxCompletionTokens": 70 }), None),
        (completion.clone(), 70)
    );
    // The budget still fits the limit, whatever its name.
    let (key, fitted) = sent_limit(json!({ "model": "o4-mini", "maxTokens": 5000 }), Some(100));
    assert_eq!(key, completion);
    assert!(fitted < 100, "{fitted}");
}

#[test]
fn auth_modes_query_and_anthropic_version() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_text("ok"));
    let claude_http = ScriptedHttp::new(&clock);
    claude_http.otherwise(Reply::json(200, json!({ "content": [], "stop_reason": "end_turn" })));
    let azure = openai(
        &http,
        json!({ "auth": { "header": "api-key" }, "query": { "api-version": "2024-10-21", "n": 1 } }),
    );
    let local = openai(&http, json!({ "auth": "none", "apiKey": null }));
    let keyless = openai(&http, json!({ "auth": "none" }));
    let claude = anthropic(
        &claude_http,
        json!({ "auth": "bearer", "anthropicVersion": "2024-01-01" }),
    );
    let h = setup(
        &clock,
        vec![
            ("azure", azure),
            ("local", local),
            ("keyless", keyless),
            ("claude", claude),
        ],
        1,
    );
    for name in ["azure", "local", "keyless"] {
        h.run(json!("q"), json!({ "toolName": name })).unwrap();
    }
    let sent = http.requests();
    assert_eq!(
        sent[0].url,
        "http://mock/v1/chat/completions?api-version=2024-10-21&n=1"
    );
    assert_eq!(
        (header(&sent[0], "api-key"), header(&sent[0], "authorization")),
        (Some(KEY), None)
    );
    for request in &sent[1..] {
        assert_eq!(request.url, "http://mock/v1/chat/completions");
        assert!(
            request.headers.iter().all(|(_, v)| !v.contains(KEY)),
            "{:?}",
            request.headers
        );
    }
    h.run(json!("q"), json!({ "toolName": "claude" })).unwrap();
    let sent = &claude_http.requests()[0];
    assert_eq!(header(sent, "authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(
        (header(sent, "x-api-key"), header(sent, "anthropic-version")),
        (None, Some("2024-01-01"))
    );
}

fn field_of(error: &OrchestratorError) -> &str {
    match error {
        OrchestratorError::InvalidConfig { field, .. } => field,
        other => panic!("{other:?}"),
    }
}

#[test]
fn format_specific_and_auth_options_are_checked() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    let openai_config = |extra: Value| with(json!({ "model": "m" }), extra);
    for (extra, field) in [
        (
            json!({ "anthropicVersion": "2023-06-01" }),
            "tools.gpt.anthropicVersion",
        ),
        (json!({ "auth": "basic" }), "tools.gpt.auth"),
        (json!({ "auth": { "header": "bad header" } }), "tools.gpt.auth"),
        (json!({ "query": { "a": [1] } }), "tools.gpt.query"),
        (json!({ "baseUrl": "https://h/v1?api-version=1" }), "tools.gpt.baseUrl"),
    ] {
        let error = OpenAiChatTool::from_json(&openai_config(extra.clone()), "tools.gpt", http.clone())
            .err()
            .unwrap();
        assert_eq!(field_of(&error), field, "{extra}: {error}");
    }
    let error = AnthropicMessagesTool::from_json(&json!({ "model": "m", "maxCompletionTokens": 5 }), "tools.c", http)
        .err()
        .unwrap();
    assert_eq!(field_of(&error), "tools.c.maxCompletionTokens");
}

#[test]
fn keys_given_through_auth_or_headers_are_redacted() {
    let secret = "azure-secret-0123456789";
    let token = "gw-token-abcdefghijkl";
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    let echo = format!("Access denied: key {secret}, token {token}, masked azure-****6789 gw-tok****ijkl");
    http.otherwise(Reply::json(401, json!({ "error": { "code": "401", "message": echo } })));
    let config =
        json!({ "apiKey": null, "headers": { "api-key": secret, "Authorization": format!("Bearer {token}") } });
    let h = setup(&clock, vec![("gpt", openai(&http, config))], 1);
    let error = h.run(json!("q"), json!({})).unwrap_err().error;
    let shown = format!("{error} {error:?} {:?}", h.events.json());
    assert!(shown.contains("[redacted]"), "{shown}");
    for leaked in [secret, token, "azure-", "gw-tok"] {
        assert!(!shown.contains(leaked), "`{leaked}` leaked: {shown}");
    }
}

/// The category, retryability and calls made for an HTTP 200 carrying `error_body`.
fn classify_200(error_body: Value) -> (ToolErrorCategory, u32) {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(Reply::json(200, error_body));
    let h = setup(&clock, vec![("gpt", openai(&http, json!({})))], 3);
    match h.run(json!("q"), json!({})).unwrap_err().error {
        OrchestratorError::ToolExecution { category, attempts, .. } => (category, attempts),
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_sent_with_http_200_are_classified_by_their_code() {
    let openrouter = json!({ "error": { "code": 502, "message": "Provider returned error", "metadata": {} } });
    assert_eq!(classify_200(openrouter), (ToolErrorCategory::Server, 3));
    let openrouter_bad = json!({ "error": { "code": 400, "message": "bad model" } });
    assert_eq!(classify_200(openrouter_bad), (ToolErrorCategory::Client, 1));
    let workers_ai = json!({ "success": false, "errors": [{ "code": 3040, "message": "Capacity temporarily exceeded" }], "result": null });
    assert_eq!(classify_200(workers_ai), (ToolErrorCategory::Server, 3));
    let gemini = json!([{ "error": { "code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED" } }]);
    assert_eq!(classify_200(gemini), (ToolErrorCategory::RateLimit, 3));
}

#[test]
fn rejections_by_validate_do_not_open_the_breaker() {
    let clock = clock();
    let http = ScriptedHttp::new(&clock);
    http.otherwise(openai_text("bad"));
    let config = json!({
        "defaultTools": ["gpt"],
        "reliability": { "retryPolicy": exact_retry(3), "circuitBreakers": { "default": { "failureThreshold": 1 } } },
    });
    let h = harness_with(&clock, config, vec![("gpt", openai(&http, json!({})))], None);
    let options = RunOptions {
        validate: Some(no_tool_calls()),
        ..RunOptions::default()
    };
    let error = h.run_with(json!("q"), options).unwrap_err().error;
    assert!(
        matches!(error, OrchestratorError::ToolExecution { attempts: 3, .. }),
        "{error:?}"
    );
    assert!(h.events_of("breaker").is_empty(), "{:?}", h.events_of("breaker"));
}
