//! JS values to core config and options, core results to JS values.
//! Data parts cross as JSON (`JSON.stringify` then serde, so errors name
//! the field); code parts (tools, store, listener) are wrapped as they are.

use std::rc::Rc;

use js_sys::{Function, Object};
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};

use super::builtin_tools;
use super::errors::{prop, set};
use super::host;
use super::js_events::JsEvents;
use super::js_kv::JsStore;
use super::js_value::{from_json, to_json_strict, JsPayload};
use crate::error::OrchestratorError;
use crate::orchestrator::{Orchestrator, OrchestratorConfig, RunOptions, RunResult};

/// `prop(target, camel)` or the seed's snake_case spelling.
fn either(target: &JsValue, camel: &str, snake: &str) -> Option<JsValue> {
    prop(target, camel).or_else(|| prop(target, snake))
}

/// Builds an orchestrator from the JS config object.
///
/// # Errors
/// `invalid_config` naming the field.
pub fn orchestrator_from_js(config: &JsValue) -> Result<Orchestrator<JsPayload>, OrchestratorError> {
    if !config.is_object() {
        return Err(OrchestratorError::config("config", "must be an object"));
    }
    let json_of = |value: Option<JsValue>, field: &str| -> Result<Value, OrchestratorError> {
        value.map_or(Ok(Value::Null), |v| {
            to_json_strict(&v).map_err(|m| OrchestratorError::config(field, m))
        })
    };
    // `planner` is a RuleBasedPlanner (or `{ rules }`), or the rules array itself.
    let planner = prop(config, "planner");
    let rules = match &planner {
        Some(p) if js_sys::Array::is_array(p) => Some(p.clone()),
        Some(p) => prop(p, "rules"),
        None => None,
    };
    let data = json!({
        "planner": { "rules": json_of(rules, "planner.rules")?.as_array().cloned().unwrap_or_default() },
        "defaultTools": json_of(either(config, "defaultTools", "default_tools"), "defaultTools")?,
        "reliability": json_of(prop(config, "reliability"), "reliability")?,
    });
    let data = strip_nulls(data);
    let parsed = OrchestratorConfig::from_json(&data)?;

    let mut builder = Orchestrator::builder(host::platform()).config(parsed);
    if let Some(tools) = prop(config, "tools") {
        if !tools.is_object() {
            return Err(OrchestratorError::config("tools", "must be an object of tools"));
        }
        for entry in Object::entries(tools.unchecked_ref::<Object>()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let name = pair.get(0).as_string().unwrap_or_default();
            let tool = builtin_tools::tool_from_js(&name, &format!("tools.{name}"), &pair.get(1))?;
            builder = builder.tool(name, tool);
        }
    }
    if let Some(store) = prop(config, "store") {
        builder = builder.store(Rc::new(JsStore::from_js(&store)?));
    }
    if let Some(listener) = either(config, "onEvent", "on_event") {
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| OrchestratorError::config("onEvent", "must be a function"))?;
        builder = builder.events(Rc::new(JsEvents::new(listener)));
    }
    builder.build()
}

/// `null` members mean "not given" (JSON turns `undefined` into nothing, but
/// users also write `null`), so defaults apply.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Reads run options; the `signal` is returned apart.
///
/// # Errors
/// `invalid_request` naming the option.
pub fn run_options_from_js(options: &JsValue) -> Result<(RunOptions, Option<web_sys::AbortSignal>), OrchestratorError> {
    if options.is_undefined() || options.is_null() {
        return Ok((RunOptions::default(), None));
    }
    if !options.is_object() {
        return Err(OrchestratorError::request("options", "must be an object"));
    }
    let signal = match prop(options, "signal") {
        None => None,
        Some(s) => Some(
            s.dyn_into::<web_sys::AbortSignal>()
                .map_err(|_| OrchestratorError::request("signal", "must be an AbortSignal"))?,
        ),
    };
    let json = to_json_strict(options).map_err(|m| OrchestratorError::request("options", m))?;
    let json = match json {
        Value::Object(mut map) => {
            map.remove("signal");
            strip_nulls(Value::Object(map))
        }
        other => other,
    };
    Ok((RunOptions::from_json(&json)?, signal))
}

/// A result as the JS object users get.
pub fn result_to_js(result: RunResult<JsPayload>) -> JsValue {
    let out = Object::new();
    set(&out, "output", result.output.0);
    set(&out, "toolName", result.tool_name.as_str());
    set(&out, "attempts", result.attempts);
    set(&out, "cached", result.cached);
    let usage = Object::new();
    set(&usage, "promptTokens", result.usage.prompt_tokens as f64);
    set(&usage, "completionTokens", result.usage.completion_tokens as f64);
    set(&usage, "totalTokens", result.usage.total_tokens as f64);
    set(&out, "usage", usage);
    set(
        &out,
        "costUsd",
        result.cost_usd.map_or(JsValue::NULL, JsValue::from_f64),
    );
    set(&out, "traceId", result.trace_id.as_str());
    set(&out, "requestId", result.request_id.as_str());
    set(&out, "elapsedMs", result.elapsed_ms);
    out.into()
}

/// Any serialisable value as plain JS (maps as objects, `None` as `null`).
pub fn plain<T: Serialize>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// JSON as JS, `null` when it cannot be converted.
pub fn json_to_js(value: &Value) -> JsValue {
    from_json(value).unwrap_or(JsValue::NULL)
}
