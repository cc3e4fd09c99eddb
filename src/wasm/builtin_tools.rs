//! The built-in tools as JS creates them: `openaiChat(...)`,
//! `anthropicMessages(...)` and `bundle(...)` return a tagged descriptor
//! `{ __reliableOrchestratorTool: kind, options, tool? }`, built here into
//! the Rust tools over `fetch`.

use std::rc::Rc;

use js_sys::Object;
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::fetch::FetchClient;
use super::guard::{self, describe, prop};
use super::host::JsRandom;
use super::js_tool::JsTool;
use super::js_validator::{JsValidator, SharedValidator};
use super::js_value::{to_json_strict, JsPayload};
use crate::model::error::OrchestratorError;
use crate::platform::Tool;
use crate::tools::{AnthropicMessagesTool, Bundle, OpenAiChatTool, Validated};

/// The property naming a built-in tool's kind.
const TAG: &str = "__reliableOrchestratorTool";

/// Bundles of bundles are allowed, but not without end.
const MAX_NESTING: usize = 4;

/// Builds the tool `value` registered under `field` (`tools.<name>`): a
/// built-in descriptor or a JS tool.
///
/// # Errors
/// `invalid_config` naming the field.
pub fn tool_from_js(name: &str, field: &str, value: &JsValue) -> Result<Rc<dyn Tool<JsPayload>>, OrchestratorError> {
    tool_at_depth(name, field, value, 0)
}

/// A JS tool's object and its `execute`.
pub type HostParts = (JsValue, js_sys::Function);

/// A registered tool, with its [`HostParts`] when it is a JS tool.
pub type Registered = (Rc<dyn Tool<JsPayload>>, Option<HostParts>);

/// The tool `value` as [`tool_from_js`] builds it, with its `this` and
/// `execute` when it is a JS tool (which the TypeScript driver calls itself).
///
/// # Errors
/// `invalid_config` naming the field.
pub fn registered_tool(name: &str, field: &str, value: &JsValue) -> Result<Registered, OrchestratorError> {
    if prop(value, TAG).is_some() {
        return Ok((tool_from_js(name, field, value)?, None));
    }
    let tool = JsTool::from_js(name, field, value)?;
    let parts = tool.host_parts();
    Ok((Rc::new(tool), Some(parts)))
}

fn tool_at_depth(
    name: &str,
    field: &str,
    value: &JsValue,
    depth: usize,
) -> Result<Rc<dyn Tool<JsPayload>>, OrchestratorError> {
    let Some(kind) = prop(value, TAG) else {
        return Ok(Rc::new(JsTool::from_js(name, field, value)?));
    };
    let (options, validator) = match prop(value, "options") {
        None => (Value::Object(serde_json::Map::new()), None),
        Some(options) => split_options(&options, field)?,
    };
    let tool = builtin(name, field, value, &kind, &options, depth)?;
    Ok(match validator {
        Some(validator) => Rc::new(Validated::new(tool, validator)),
        None => tool,
    })
}

/// The descriptor's options as JSON, and its `validate` function apart.
fn split_options(options: &JsValue, field: &str) -> Result<(Value, Option<SharedValidator>), OrchestratorError> {
    let unreadable = |key: &str, e: JsValue| OrchestratorError::config(format!("{field}.{key}"), describe(&e));
    let validate = guard::get(options, "validate").map_err(|e| unreadable("validate", e))?;
    let validator: Option<SharedValidator> = if validate.is_undefined() || validate.is_null() {
        None
    } else {
        let validator = JsValidator::from_js(&validate)
            .ok_or_else(|| OrchestratorError::config(format!("{field}.validate"), "must be a function"))?;
        Some(Rc::new(validator))
    };
    let data = Object::new();
    if options.is_object() {
        for key in guard::keys(options).map_err(|e| unreadable("options", e))? {
            if key != "validate" {
                let value = guard::get_data(options, &key).map_err(|e| unreadable(&key, e))?;
                let _ = js_sys::Reflect::set(&data, &JsValue::from_str(&key), &value);
            }
        }
    }
    let source: &JsValue = if options.is_object() { &data } else { options };
    let json = to_json_strict(source)
        .map_err(|(path, m)| OrchestratorError::config(crate::model::config::join_path(field, &path), m))?;
    Ok((json, validator))
}

/// The built-in tool `kind` from its JSON options.
fn builtin(
    name: &str,
    field: &str,
    value: &JsValue,
    kind: &JsValue,
    options: &Value,
    depth: usize,
) -> Result<Rc<dyn Tool<JsPayload>>, OrchestratorError> {
    let http = Rc::new(FetchClient);
    match kind.as_string().as_deref() {
        Some("openaiChat") => Ok(Rc::new(OpenAiChatTool::from_json(options, field, http)?)),
        Some("anthropicMessages") => Ok(Rc::new(AnthropicMessagesTool::from_json(options, field, http)?)),
        Some("bundle") if depth < MAX_NESTING => {
            let inner_field = format!("{field}.tool");
            let inner = prop(value, "tool")
                .ok_or_else(|| OrchestratorError::config(inner_field.clone(), "is required: the tool to replicate"))?;
            let inner = tool_at_depth(name, &inner_field, &inner, depth + 1)?;
            let config = Bundle::<JsPayload>::config_from_json(options, field)?;
            Ok(Rc::new(Bundle::new(inner, config, Rc::new(JsRandom::new()))))
        }
        Some("bundle") => Err(OrchestratorError::config(field, "bundles nest too deep")),
        _ => Err(OrchestratorError::config(
            field,
            "is not a known built-in tool (openaiChat, anthropicMessages, bundle)",
        )),
    }
}
