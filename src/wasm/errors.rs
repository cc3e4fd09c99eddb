//! Errors across the boundary, decoded in one place: a value a JS tool
//! throws becomes a [`ToolError`] (classified by `retryable`, `status`,
//! `name === "TimeoutError"`, `TypeError`, in that order, keeping the
//! original as `cause`), and a run's error becomes a plain object that the
//! JS wrapper turns into its `Error` subclass.

use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::js_value::{describe, JsPayload};
use crate::error::{OrchestratorError, RunError, ToolError, ToolErrorCategory};
use crate::platform::Usage;
use crate::reliability::RetryHint;

/// A property of a JS object, `None` when absent, null, or throwing.
pub fn prop(target: &JsValue, key: &str) -> Option<JsValue> {
    if !target.is_object() && !target.is_function() {
        return None;
    }
    Reflect::get(target, &JsValue::from_str(wasm_bindgen::intern(key)))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Sets `key` on a plain object (cannot fail on one we created). Property
/// names are interned: decoding the same few names from wasm memory on every
/// run was a measurable share of `run()`.
pub fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(target, &JsValue::from_str(wasm_bindgen::intern(key)), &value.into());
}

/// Usage as a tool reports it, on an output or a thrown value.
pub fn usage_of(target: &JsValue) -> Option<Usage> {
    let usage = prop(target, "usage")?;
    serde_json::from_value(super::js_value::to_json(&usage).ok()?).ok()
}

/// `costUsd` (or `cost_usd`) as a tool reports it.
pub fn cost_of(target: &JsValue) -> Option<f64> {
    prop(target, "costUsd")
        .or_else(|| prop(target, "cost_usd"))
        .and_then(|c| c.as_f64())
        .filter(|c| c.is_finite() && *c >= 0.0)
}

fn header(headers: &JsValue, name: &str) -> Option<String> {
    // A `Headers` instance answers `get`; a plain object has lowercase keys.
    if let Some(get) = prop(headers, "get").and_then(|g| g.dyn_into::<Function>().ok()) {
        return get.call1(headers, &JsValue::from_str(name)).ok()?.as_string();
    }
    prop(headers, name).and_then(|v| v.as_string().or_else(|| v.as_f64().map(|n| n.to_string())))
}

fn retry_hint(thrown: &JsValue) -> Option<RetryHint> {
    if let Some(ms) = prop(thrown, "retryAfterMs").and_then(|v| v.as_f64()) {
        return (ms.is_finite() && ms >= 0.0).then_some(RetryHint::DelayMs(ms));
    }
    let headers = prop(thrown, "headers")?;
    RetryHint::from_headers(
        header(&headers, "retry-after-ms").as_deref(),
        header(&headers, "retry-after").as_deref(),
    )
}

/// Classifies whatever a JS tool threw (or its promise rejected with).
pub fn tool_error_from_js(thrown: JsValue) -> ToolError {
    let status = prop(&thrown, "status")
        .or_else(|| prop(&thrown, "statusCode"))
        .and_then(|s| s.as_f64())
        .filter(|s| s.fract() == 0.0 && (100.0..=599.0).contains(s))
        .map(|s| s as u16);
    let name = prop(&thrown, "name").and_then(|n| n.as_string());
    let mut error = if let Some(status) = status {
        ToolError::from_status(status, describe(&thrown))
    } else if name.as_deref() == Some("TimeoutError") {
        ToolError::timeout(describe(&thrown))
    } else if thrown.is_instance_of::<js_sys::TypeError>() {
        ToolError::network(describe(&thrown))
    } else {
        ToolError::new(ToolErrorCategory::Unknown, describe(&thrown))
    };
    if let Some(retryable) = prop(&thrown, "retryable").and_then(|r| r.as_bool()) {
        error = error.with_retryable(retryable);
    }
    error
        .with_retry_hint(retry_hint(&thrown))
        .with_usage(usage_of(&thrown), cost_of(&thrown))
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

/// Which JS class an error becomes.
fn class_of(error: &OrchestratorError) -> &'static str {
    match error {
        OrchestratorError::ToolExecution { .. } => "ToolExecutionError",
        OrchestratorError::BudgetExceeded { .. } => "BudgetExceeded",
        OrchestratorError::Conflict { .. } => "ConflictError",
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
