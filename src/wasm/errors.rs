//! Errors across the boundary, decoded in one place: a value a JS tool
//! throws becomes a [`ToolError`] (classified by duck typing, see
//! [`tool_error_from_js`], keeping the original as `cause`), and a run's
//! error becomes a plain object that the JS wrapper turns into its `Error`
//! subclass.

use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use super::guard::{self, describe};
use super::js_value::JsPayload;
use crate::model::error::{OrchestratorError, RunError, ToolError, ToolErrorCategory};
use crate::platform::{InterruptReason, Usage};
use crate::reliability::RetryHint;

pub use super::guard::prop;

/// Sets `key` on a plain object (cannot fail on one we created). Property
/// names are made once (`names.rs`): decoding the same few names from wasm
/// memory on every run was a measurable share of `run()`.
pub fn set(target: &Object, key: &'static str, value: impl Into<JsValue>) {
    let value = value.into();
    super::names::with_name(key, |name| {
        let _ = Reflect::set(target, name, &value);
    });
}

/// Usage as a tool reports it, on an output or a thrown value: `None` when
/// absent.
///
/// # Errors
/// When `usage` is there but is not an object of numbers (a numeric string is
/// not a token count: silently dropping it would let a token budget pass).
pub fn usage_of(target: &JsValue) -> Result<Option<Usage>, String> {
    let Some(usage) = prop(target, "usage") else {
        return Ok(None);
    };
    let json = super::js_value::to_json(&usage).map_err(|m| format!("usage {m}"))?;
    serde_json::from_value(json)
        .map(Some)
        .map_err(|e| format!("usage must hold numbers of tokens: {e}"))
}

/// `costUsd` (or `cost_usd`) as a tool reports it.
pub fn cost_of(target: &JsValue) -> Option<f64> {
    prop(target, "costUsd")
        .or_else(|| prop(target, "cost_usd"))
        .and_then(|c| c.as_f64())
        .filter(|c| c.is_finite() && *c >= 0.0)
}

/// A header from a `Headers` (its `get`) or a plain object with lowercase keys.
fn header(headers: &JsValue, name: &'static str) -> Option<String> {
    if let Ok(Some(get)) = guard::method(headers, "get") {
        return guard::call(&get, headers, &[JsValue::from_str(name)]).ok()?.as_string();
    }
    prop(headers, name).and_then(|v| v.as_string().or_else(|| v.as_f64().map(|n| n.to_string())))
}

/// The headers a thrown value carries: `headers` (openai, Anthropic, fetch) or
/// `responseHeaders` (the AI SDK's `APICallError`).
fn headers_of(thrown: &JsValue) -> Option<JsValue> {
    prop(thrown, "headers").or_else(|| prop(thrown, "responseHeaders"))
}

fn retry_hint(thrown: &JsValue) -> Option<RetryHint> {
    if let Some(ms) = prop(thrown, "retryAfterMs").and_then(|v| v.as_f64()) {
        return (ms.is_finite() && ms >= 0.0).then_some(RetryHint::DelayMs(ms));
    }
    let headers = headers_of(thrown)?;
    RetryHint::from_headers(
        header(&headers, "retry-after-ms").as_deref(),
        header(&headers, "retry-after").as_deref(),
    )
}

/// How deep the `cause` chain is followed.
const MAX_CAUSES: usize = 8;

/// Node and undici error codes of failed connections.
fn is_network_code(code: &str) -> bool {
    code.starts_with("UND_ERR")
        || matches!(
            code,
            "ECONNREFUSED"
                | "ECONNRESET"
                | "ECONNABORTED"
                | "ETIMEDOUT"
                | "EPIPE"
                | "ENOTFOUND"
                | "ENETUNREACH"
                | "ENETDOWN"
                | "EHOSTUNREACH"
                | "EHOSTDOWN"
                | "EAI_AGAIN"
                | "ERR_STREAM_PREMATURE_CLOSE"
        )
}

/// What one link of a thrown value's chain says about the failure.
#[derive(Default)]
struct Signals {
    retryable: Option<bool>,
    status: Option<u16>,
    should_retry: Option<bool>,
    kind: Option<ToolErrorCategory>,
    aborted: bool,
    hint: Option<RetryHint>,
}

fn status_of(value: &JsValue) -> Option<u16> {
    prop(value, "status")
        .or_else(|| prop(value, "statusCode"))
        .and_then(|s| s.as_f64())
        .filter(|s| s.fract() == 0.0 && (100.0..=599.0).contains(s))
        .map(|s| s as u16)
}

/// The class-like names of a thrown value: its `name` and its constructor's.
/// Both count: the openai SDK leaves `name` as `"Error"` on its subclasses
/// (`APIConnectionTimeoutError`, `APIUserAbortError`), the AI SDK sets
/// `name` (`AI_APICallError`) on classes of another name.
fn names_of(value: &JsValue) -> [Option<String>; 2] {
    let own = prop(value, "name").and_then(|n| n.as_string());
    let class = prop(value, "constructor")
        .and_then(|c| prop(&c, "name"))
        .and_then(|n| n.as_string())
        .filter(|c| own.as_ref() != Some(c));
    [own, class]
}

/// What a class name says about a failure, if anything.
fn kind_of_name(name: &str) -> Option<NameKind> {
    Some(match name {
        "AbortError" | "APIUserAbortError" => NameKind::Aborted,
        "TimeoutError" | "APIConnectionTimeoutError" => NameKind::Is(ToolErrorCategory::Timeout),
        "APIConnectionError" | "TypeError" | "FetchError" => NameKind::Is(ToolErrorCategory::Network),
        // A body that is not the JSON (or the shape) promised: a truncated or
        // garbled response, retried like the built-in tools' malformed ones.
        "SyntaxError" | "AI_JSONParseError" | "JSONParseError" | "AI_TypeValidationError" | "TypeValidationError" => {
            NameKind::Is(ToolErrorCategory::InvalidOutput)
        }
        _ => return None,
    })
}

enum NameKind {
    Aborted,
    Is(ToolErrorCategory),
}

fn read_signals(value: &JsValue, into: &mut Signals) {
    // A status below 400 says nothing of the failure (the AI SDK's
    // `APICallError` for a 200 whose body is not JSON), and neither does a
    // `retryable` flag derived from it.
    let status = status_of(value);
    let error_status = status.filter(|s| *s >= 400);
    if into.retryable.is_none() && (status.is_none() || error_status.is_some()) {
        into.retryable = prop(value, "retryable")
            .or_else(|| prop(value, "isRetryable"))
            .and_then(|r| r.as_bool());
    }
    if into.status.is_none() {
        into.status = error_status;
    }
    if into.should_retry.is_none() {
        into.should_retry = headers_of(value)
            .and_then(|h| header(&h, "x-should-retry"))
            .and_then(|v| match v.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            });
    }
    if into.hint.is_none() {
        into.hint = retry_hint(value);
    }
    if into.kind.is_some() || into.aborted {
        return;
    }
    match names_of(value).iter().flatten().find_map(|n| kind_of_name(n)) {
        Some(NameKind::Aborted) => into.aborted = true,
        Some(NameKind::Is(kind)) => into.kind = Some(kind),
        None => {
            let code = prop(value, "code").and_then(|c| c.as_string()).unwrap_or_default();
            if matches!(
                code.as_str(),
                "ETIMEDOUT" | "UND_ERR_CONNECT_TIMEOUT" | "UND_ERR_HEADERS_TIMEOUT"
            ) {
                into.kind = Some(ToolErrorCategory::Timeout);
            } else if is_network_code(&code) {
                into.kind = Some(ToolErrorCategory::Network);
            }
        }
    }
}

/// The value a wrapper stands for: an AI SDK `RetryError`'s `lastError`.
fn unwrapped(value: JsValue) -> JsValue {
    match prop(&value, "lastError") {
        Some(last) if names_of(&value).iter().flatten().any(|n| n.contains("RetryError")) => last,
        _ => value,
    }
}

/// Classifies whatever a JS tool threw (or its promise rejected with), by duck
/// typing so the official SDKs' errors work as thrown, walking `cause`:
/// `retryable` / `isRetryable` win; then `status` / `statusCode` (a provider's
/// `x-should-retry` header overriding the status rule); then an abort
/// (not the provider's fault: not retried, not counted); a timeout; a network
/// failure (`TypeError` from fetch, `APIConnectionError`, Node error codes);
/// a body that would not parse (`SyntaxError`, the AI SDK's `JSONParseError`
/// and `TypeValidationError`: a retryable `invalid_output`, as the built-in
/// tools treat a malformed response); anything else is a non-retryable
/// `unknown`. A status below 400 (and a `retryable` flag beside it) is not
/// a failure's status and is ignored.
pub fn tool_error_from_js(thrown: JsValue) -> ToolError {
    let mut signals = Signals::default();
    let mut link = unwrapped(thrown.clone());
    for _ in 0..MAX_CAUSES {
        read_signals(&link, &mut signals);
        match prop(&link, "cause") {
            Some(cause) => link = unwrapped(cause),
            None => break,
        }
    }
    let message = describe(&unwrapped(thrown.clone()));
    let mut error = match (signals.status, signals.kind) {
        (Some(status), _) => {
            let error = ToolError::from_status(status, message);
            match signals.should_retry {
                Some(flag) => error.with_retryable(flag),
                None => error,
            }
        }
        _ if signals.aborted => ToolError::new(ToolErrorCategory::Unknown, message).with_retryable(false),
        (None, Some(ToolErrorCategory::InvalidOutput)) => {
            ToolError::new(ToolErrorCategory::InvalidOutput, message).with_retryable(true)
        }
        (None, Some(kind)) => ToolError::new(kind, message),
        (None, None) => ToolError::new(ToolErrorCategory::Unknown, message),
    };
    if let Some(retryable) = signals.retryable {
        error = error.with_retryable(retryable);
    }
    error
        .with_retry_hint(signals.hint)
        .with_usage(usage_of(&thrown).ok().flatten(), cost_of(&thrown))
        .with_source(Rc::new(thrown))
}

/// The original JS value behind a tool error, or a plain description.
fn cause_of(error: &ToolError) -> JsValue {
    if let Some(original) = error.source.as_ref().and_then(|s| s.downcast_ref::<JsValue>()) {
        return original.clone();
    }
    let cause = Object::new();
    set(&cause, "message", error.message.as_str());
    set(&cause, "category", error.category.as_str());
    if let Some(status) = error.status {
        set(&cause, "status", status);
    }
    cause.into()
}

/// The category an interruption with no failure of its own reports.
fn interrupt_category(reason: InterruptReason) -> ToolErrorCategory {
    match reason {
        InterruptReason::IdleTimeout => ToolErrorCategory::Timeout,
        InterruptReason::Malformed => ToolErrorCategory::InvalidOutput,
        InterruptReason::ProviderError => ToolErrorCategory::Server,
        InterruptReason::Cut | InterruptReason::NoTerminal => ToolErrorCategory::Network,
    }
}

/// Usage as the JS object results carry.
pub fn usage_to_js(usage: &Usage) -> Object {
    let out = Object::new();
    set(&out, "promptTokens", usage.prompt_tokens as f64);
    set(&out, "completionTokens", usage.completion_tokens as f64);
    set(&out, "totalTokens", usage.total_tokens as f64);
    out
}

/// Which JS class an error becomes.
fn class_of(error: &OrchestratorError) -> &'static str {
    match error {
        OrchestratorError::ToolExecution { .. } => "ToolExecutionError",
        OrchestratorError::BudgetExceeded { .. } => "BudgetExceeded",
        OrchestratorError::Conflict { .. } => "ConflictError",
        OrchestratorError::StreamInterrupted { .. } => "StreamInterrupted",
        _ => "OrchestratorError",
    }
}

/// An error (with no run) as the plain object the JS wrapper expects.
pub fn error_to_js(error: &OrchestratorError) -> Object {
    let out = Object::new();
    set(&out, "__reliableOrchestratorError", class_of(error));
    set(&out, "code", error.code());
    set(&out, "message", error.to_string());
    match error {
        OrchestratorError::InvalidConfig { field, .. } | OrchestratorError::InvalidRequest { field, .. } => {
            set(&out, "field", field.as_str());
        }
        OrchestratorError::UnknownTool { tool_name } => set(&out, "toolName", tool_name.as_str()),
        OrchestratorError::ToolExecution {
            tool_name,
            attempts,
            category,
            cause,
        } => {
            set(&out, "toolName", tool_name.as_str());
            set(&out, "attempts", *attempts);
            set(&out, "category", category.as_str());
            if let Some(cause) = cause {
                set(&out, "cause", cause_of(cause));
                if let Some(status) = cause.status {
                    set(&out, "status", status);
                }
            }
        }
        OrchestratorError::BudgetExceeded {
            budget_type,
            limit,
            spent,
            requested,
        } => {
            set(&out, "budgetType", budget_type.as_str());
            set(&out, "limit", *limit);
            set(&out, "spent", *spent);
            if let Some(requested) = requested {
                set(&out, "requested", *requested);
            }
        }
        OrchestratorError::Conflict { key, reason } => {
            set(&out, "key", key.as_str());
            set(&out, "reason", reason.as_str());
        }
        OrchestratorError::Store(store) => set(&out, "operation", store.operation),
        OrchestratorError::StreamInterrupted {
            tool_name,
            attempts,
            reason,
            partial,
            usage,
            cause,
        } => {
            set(&out, "toolName", tool_name.as_str());
            set(&out, "attempts", *attempts);
            let category = cause
                .as_ref()
                .map_or_else(|| interrupt_category(*reason), |c| c.category);
            set(&out, "category", category.as_str());
            set(&out, "reason", reason.as_str());
            set(&out, "partial", partial.as_str());
            set(&out, "usage", usage_to_js(usage));
            if let Some(cause) = cause {
                set(&out, "cause", cause_of(cause));
            }
        }
        OrchestratorError::NoTool | OrchestratorError::Timeout { .. } | OrchestratorError::Aborted => {}
    }
    out
}

/// A failed run as the plain object the JS wrapper expects.
pub fn run_error_to_js(error: RunError<JsPayload>, abort_reason: Option<JsValue>) -> JsValue {
    let out = error_to_js(&error.error);
    set(&out, "traceId", error.trace_id.as_str());
    set(&out, "requestId", error.request_id.as_str());
    if let Some(output) = error.output {
        set(&out, "output", output.0);
    }
    if let (OrchestratorError::Aborted, Some(reason)) = (&error.error, abort_reason) {
        set(&out, "cause", reason);
    }
    out.into()
}
