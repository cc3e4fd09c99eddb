//! JS values to core config and options, core results to JS values.
//! Data parts cross as JSON (`JSON.stringify` then serde, so errors name
//! the field); code parts (tools, store, listener) are wrapped as they are.

use std::rc::Rc;

use js_sys::{Function, Object};
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};

use super::builtin_tools;
use super::errors::set;
use super::guard::{self, describe};
use super::host;
use super::js_events::JsEvents;
use super::js_kv::JsStore;
use super::js_validator::{JsValidator, SharedValidator};
use super::js_value::{from_json, to_json_strict, JsPayload};
use super::signal::JsSignal;
use crate::model::config::join_path;
use crate::model::error::OrchestratorError;
use crate::orchestrator::{Orchestrator, OrchestratorConfig, RunOptions, RunResult};

/// `target[key]` for config: `None` when absent or `null`; a throwing getter
/// or trap is an error naming `field`.
fn config_prop(target: &JsValue, key: &'static str, field: &str) -> Result<Option<JsValue>, OrchestratorError> {
    let value = guard::get(target, key).map_err(|e| OrchestratorError::config(field, describe(&e)))?;
    Ok(Some(value).filter(|v| !v.is_undefined() && !v.is_null()))
}

/// `config_prop` under the camelCase name or the seed's snake_case one.
fn either(target: &JsValue, camel: &'static str, snake: &'static str) -> Result<Option<JsValue>, OrchestratorError> {
    match config_prop(target, camel, camel)? {
        Some(value) => Ok(Some(value)),
        None => config_prop(target, snake, snake),
    }
}

/// Data config as JSON; errors name the field below `field`.
fn json_of(value: Option<JsValue>, field: &str) -> Result<Value, OrchestratorError> {
    value.map_or(Ok(Value::Null), |v| {
        to_json_strict(&v).map_err(|(path, m)| OrchestratorError::config(join_path(field, &path), m))
    })
}

/// The rules: `planner` is a RuleBasedPlanner (or `{ rules }`), or the rules array itself.
fn rules_of(config: &JsValue) -> Result<Value, OrchestratorError> {
    let Some(planner) = config_prop(config, "planner", "planner")? else {
        return Ok(Value::Array(Vec::new()));
    };
    let unreadable = |e: JsValue| OrchestratorError::config("planner", describe(&e));
    if guard::is_array(&planner).map_err(unreadable)? {
        return json_of(Some(planner), "planner");
    }
    if !planner.is_object() {
        return Err(OrchestratorError::config(
            "planner",
            "must be a RuleBasedPlanner, { rules: [...] } or an array of rules",
        ));
    }
    let rules = config_prop(&planner, "rules", "planner.rules")?;
    match rules {
        None => Ok(Value::Array(Vec::new())),
        Some(rules) if guard::is_array(&rules).map_err(unreadable)? => json_of(Some(rules), "planner.rules"),
        Some(_) => Err(OrchestratorError::config("planner.rules", "must be an array of rules")),
    }
}

/// The top-level keys a config may have, in both spellings.
const CONFIG_KEYS: &[&str] = &[
    "planner",
    "tools",
    "defaultTools",
    "default_tools",
    "reliability",
    "store",
    "onEvent",
    "on_event",
];

/// The JS tools by name, for the TypeScript driver: each one's `this` and `execute`.
pub type HostTools = std::collections::HashMap<String, (JsValue, Function)>;

/// An orchestrator read from config, its JS tools, and its store when it is a JS one.
pub type Built = (Orchestrator<JsPayload>, HostTools, Option<Rc<JsStore>>);

/// Builds an orchestrator from the JS config object.
///
/// # Errors
/// `invalid_config` naming the field.
pub fn orchestrator_from_js(config: &JsValue) -> Result<Built, OrchestratorError> {
    let unreadable = |e: JsValue| OrchestratorError::config("config", describe(&e));
    if !config.is_object() || guard::is_array(config).map_err(unreadable)? {
        return Err(OrchestratorError::config("config", "must be an object"));
    }
    check_keys(config, CONFIG_KEYS, "", false)?;
    let data = json!({
        "planner": { "rules": rules_of(config)? },
        "defaultTools": json_of(either(config, "defaultTools", "default_tools")?, "defaultTools")?,
        "reliability": json_of(config_prop(config, "reliability", "reliability")?, "reliability")?,
    });
    let parsed = OrchestratorConfig::from_json(&data)?;

    let mut builder = Orchestrator::builder(host::platform()).config(parsed);
    let mut host_tools = HostTools::default();
    if let Some(tools) = config_prop(config, "tools", "tools")? {
        for (name, tool) in tools_of(&tools)? {
            let (tool, parts) = builtin_tools::registered_tool(&name, &format!("tools.{name}"), &tool)?;
            if let Some((this, execute)) = parts {
                host_tools.insert(name.clone(), (this, execute));
            }
            builder = builder.tool(name, tool);
        }
    }
    let store = match config_prop(config, "store", "store")? {
        Some(store) => Some(Rc::new(JsStore::from_js(&store)?)),
        None => None,
    };
    if let Some(store) = &store {
        builder = builder.store(Rc::clone(store) as Rc<dyn crate::platform::KvStore>);
    }
    if let Some(listener) = either(config, "onEvent", "on_event")? {
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| OrchestratorError::config("onEvent", "must be a function"))?;
        builder = builder.events(Rc::new(JsEvents::new(listener)));
    }
    Ok((builder.build()?, host_tools, store))
}

/// The `tools` object's entries, read through guarded access.
fn tools_of(tools: &JsValue) -> Result<Vec<(String, JsValue)>, OrchestratorError> {
    let unreadable = |e: JsValue| OrchestratorError::config("tools", describe(&e));
    if !tools.is_object() || guard::is_array(tools).map_err(unreadable)? {
        return Err(OrchestratorError::config("tools", "must be an object of tools by name"));
    }
    guard::keys(tools)
        .map_err(unreadable)?
        .into_iter()
        .map(|name| {
            let tool = guard::get_data(tools, &name)
                .map_err(|e| OrchestratorError::config(format!("tools.{name}"), describe(&e)))?;
            Ok((name, tool))
        })
        .collect()
}

/// Rejects keys of `target` not in `known`, naming the first one (below
/// `prefix`) with a suggestion of the closest known key.
fn check_keys(target: &JsValue, known: &[&str], prefix: &str, request: bool) -> Result<(), OrchestratorError> {
    let keys = guard::keys(target).map_err(|e| OrchestratorError::config(prefix, describe(&e)))?;
    match keys.iter().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => {
            let field = join_path(prefix, key);
            let message = crate::model::config::describe_unknown("key", key, known);
            Err(if request {
                OrchestratorError::request(field, message)
            } else {
                OrchestratorError::config(field, message)
            })
        }
    }
}

/// The run option `validate`: absent, or a function.
fn validator_of(options: &JsValue) -> Result<Option<SharedValidator>, OrchestratorError> {
    let value = guard::get(options, "validate").map_err(|e| OrchestratorError::request("validate", describe(&e)))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match JsValidator::from_js(&value) {
        Some(validator) => Ok(Some(Rc::new(validator))),
        None => Err(OrchestratorError::request("validate", "must be a function")),
    }
}

/// Reads run options; the `signal` is returned apart, checked to be usable.
///
/// # Errors
/// `invalid_request` naming the option.
pub fn run_options_from_js(options: &JsValue) -> Result<(RunOptions<JsPayload>, Option<JsSignal>), OrchestratorError> {
    if options.is_undefined() || options.is_null() {
        return Ok((RunOptions::default(), None));
    }
    let plain = guard::is_plain_object(options).map_err(|e| OrchestratorError::request("options", describe(&e)))?;
    if !plain {
        return Err(OrchestratorError::request(
            "options",
            "must be a plain object of run options",
        ));
    }
    let signal = guard::get(options, "signal").map_err(|e| OrchestratorError::request("signal", describe(&e)))?;
    let signal = if signal.is_undefined() || signal.is_null() {
        None
    } else {
        Some(JsSignal::from_js(signal)?)
    };
    let validate = validator_of(options)?;
    // The data options, read once through guarded access (the signal and validate apart),
    // each value checked on its own: a string or a number needs no `JSON.stringify`.
    let mut data = serde_json::Map::new();
    for key in guard::keys(options).map_err(|e| OrchestratorError::request("options", describe(&e)))? {
        if key != "signal" && key != "validate" {
            let value =
                guard::get_data(options, &key).map_err(|e| OrchestratorError::request(key.as_str(), describe(&e)))?;
            if value.is_undefined() {
                continue;
            }
            let json =
                to_json_strict(&value).map_err(|(path, m)| OrchestratorError::request(join_path(&key, &path), m))?;
            data.insert(key, json);
        }
    }
    let mut parsed = RunOptions::from_json_for(&Value::Object(data))?;
    parsed.validate = validate;
    Ok((parsed, signal))
}

/// A result's fields other than the output, as JSON (the output is a JS value).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    /// A placeholder: keeps `output` the first key, set right after.
    output: (),
    tool_name: &'a str,
    attempts: u32,
    cached: bool,
    usage: &'a crate::platform::Usage,
    cost_usd: Option<f64>,
    message: Option<&'a Value>,
    trace_id: &'a str,
    request_id: &'a str,
    elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
}

/// A result as the JS object users get: its fields through one `JSON.parse`
/// (a dozen property sets from wasm cost several times more), then the output.
pub fn result_to_js(result: RunResult<JsPayload>) -> JsValue {
    if let Some(built) = super::js_results::built(&result) {
        return built;
    }
    let envelope = Envelope {
        output: (),
        tool_name: &result.tool_name,
        attempts: result.attempts,
        cached: result.cached,
        usage: &result.usage,
        cost_usd: result.cost_usd,
        message: result.message.as_ref(),
        trace_id: &result.trace_id,
        request_id: &result.request_id,
        elapsed_ms: result.elapsed_ms,
        finish_reason: result.finish_reason.as_deref(),
    };
    let out = json_object(&envelope);
    if let Some(object) = out.dyn_ref::<Object>() {
        set(object, "output", result.output.0);
    }
    out
}

/// Any serialisable value as a plain JS object (maps as objects, `None` as
/// `null`), through `serde_json` and one `JSON.parse`.
pub fn json_object<T: Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or_else(|| Object::new().into())
}

/// JSON as JS, `null` when it cannot be converted.
pub fn json_to_js(value: &Value) -> JsValue {
    from_json(value).unwrap_or(JsValue::NULL)
}
