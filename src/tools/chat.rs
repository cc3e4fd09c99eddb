//! One chat request, as both wire formats need it: messages, an optional
//! system prompt, the model and its limits.
//!
//! A request is a string or `{ query }` (one user message), or `{ messages,
//! system?, tools?, toolChoice?, responseFormat? }` sent as is (each format
//! puts them where its API wants them); `maxTokens` / `temperature` may come from the
//! request. `toolOptions` (`model`, `maxTokens`, `temperature`) win over the
//! request, which wins over the tool's configuration.

use serde_json::{json, Map, Value};

use crate::model::error::ToolError;
use crate::model::json;

/// The tool's configured defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatDefaults {
    /// The model.
    pub model: String,
    /// Output token limit.
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Send the limit as `max_completion_tokens` (OpenAI's newer name).
    pub completion_tokens: bool,
}

/// A request ready to be put on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// The model to call.
    pub model: String,
    /// The system prompt, if any.
    pub system: Option<String>,
    /// The conversation, in the caller's shape (`{ role, content }`).
    pub messages: Vec<Value>,
    /// Output token limit.
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Tool definitions, in the provider's format.
    pub tools: Option<Value>,
    /// The tool choice, in the provider's format.
    pub tool_choice: Option<Value>,
    /// OpenAI's `response_format` (JSON mode, a JSON schema).
    pub response_format: Option<Value>,
    /// Send the limit as `max_completion_tokens`.
    pub completion_tokens: bool,
}

/// The pass-through members of a request: `tools`, `toolChoice`, `responseFormat`.
type Extras = (Option<Value>, Option<Value>, Option<Value>);

fn extras(fields: &Map<String, Value>) -> Result<Extras, ToolError> {
    let tools = match member(fields, "tools", "tools") {
        None => None,
        Some(Value::Array(tools)) => Some(Value::Array(tools.clone())),
        Some(_) => return Err(ToolError::client("request.tools must be an array")),
    };
    let tool_choice = match member(fields, "toolChoice", "tool_choice") {
        None => None,
        Some(choice @ (Value::String(_) | Value::Object(_))) => Some(choice.clone()),
        Some(_) => return Err(ToolError::client("request.toolChoice must be a string or an object")),
    };
    let response_format = match member(fields, "responseFormat", "response_format") {
        None => None,
        Some(format @ Value::Object(_)) => Some(format.clone()),
        Some(_) => return Err(ToolError::client("request.responseFormat must be an object")),
    };
    Ok((tools, tool_choice, response_format))
}

fn member<'a>(object: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    object.get(camel).or_else(|| object.get(snake)).filter(|v| !v.is_null())
}

fn max_tokens(value: Option<&Value>, field: &str) -> Result<Option<u64>, ToolError> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.fract() == 0.0 && (1.0..=10_000_000.0).contains(&n) => Ok(Some(n as u64)),
            _ => Err(ToolError::client(format!(
                "{field} must be an integer from 1 to 10000000"
            ))),
        },
    }
}

fn temperature(value: Option<&Value>, field: &str) -> Result<Option<f64>, ToolError> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(t) if t.is_finite() && (0.0..=2.0).contains(&t) => Ok(Some(t)),
            _ => Err(ToolError::client(format!("{field} must be a number from 0 to 2"))),
        },
    }
}

impl ChatRequest {
    /// Builds the request from the run's request, the tool options and the
    /// tool's defaults.
    ///
    /// # Errors
    /// A non-retryable client error naming what is wrong.
    pub fn build(request: &Value, options: &Value, defaults: &ChatDefaults) -> Result<Self, ToolError> {
        let empty = Map::new();
        let (messages, system, fields) = match request {
            Value::String(text) => (vec![json!({ "role": "user", "content": text })], None, &empty),
            Value::Object(object) => {
                let messages = match (object.get("messages"), object.get("query")) {
                    (Some(Value::Array(messages)), _) if !messages.is_empty() => messages.clone(),
                    (Some(_), _) => return Err(ToolError::client("request.messages must be a non-empty array")),
                    (None, Some(Value::String(query))) => vec![json!({ "role": "user", "content": query })],
                    (None, Some(_)) => return Err(ToolError::client("request.query must be a string")),
                    (None, None) => return Err(ToolError::client("request needs `query` or `messages`")),
                };
                let system = match object.get("system") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err(ToolError::client("request.system must be a string")),
                };
                (messages, system, object)
            }
            _ => return Err(ToolError::client("request must be a string or an object")),
        };
        let options = options.as_object().unwrap_or(&empty);
        let model = match options.get("model") {
            None | Some(Value::Null) => defaults.model.clone(),
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            Some(_) => return Err(ToolError::client("toolOptions.model must be a non-empty string")),
        };
        let max_tokens = max_tokens(member(options, "maxTokens", "max_tokens"), "toolOptions.maxTokens")?
            .or(max_tokens(
                member(fields, "maxTokens", "max_tokens"),
                "request.maxTokens",
            )?)
            .or(defaults.max_tokens);
        let temperature = temperature(options.get("temperature"), "toolOptions.temperature")?
            .or(temperature(fields.get("temperature"), "request.temperature")?)
            .or(defaults.temperature);
        let (tools, tool_choice, response_format) = extras(fields)?;
        Ok(Self {
            model,
            system,
            messages,
            max_tokens,
            temperature,
            tools,
            tool_choice,
            response_format,
            completion_tokens: defaults.completion_tokens,
        })
    }

    /// A rough upper estimate of the prompt's tokens (about four bytes of
    /// JSON text per token), for budget pre-checks before the call.
    pub fn prompt_tokens_estimate(&self) -> u64 {
        let messages = json::text_len(&self.messages);
        let system = self.system.as_ref().map_or(0, String::len);
        let tools = self.tools.as_ref().map_or(0, json::text_len);
        ((messages + system + tools) as u64).div_ceil(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> ChatDefaults {
        ChatDefaults {
            model: "gpt-4o-mini".into(),
            max_tokens: Some(100),
            temperature: None,
            completion_tokens: false,
        }
    }

    #[test]
    fn string_query_and_messages() {
        let chat = ChatRequest::build(&json!("hi"), &Value::Null, &defaults()).unwrap();
        assert_eq!(chat.messages, vec![json!({ "role": "user", "content": "hi" })]);
        assert_eq!((chat.model.as_str(), chat.max_tokens), ("gpt-4o-mini", Some(100)));

        let request = json!({ "query": "q", "system": "be brief", "max_tokens": 50, "temperature": 0.2 });
        let chat = ChatRequest::build(&request, &json!({ "model": "gpt-4o", "maxTokens": 10 }), &defaults()).unwrap();
        assert_eq!(chat.system.as_deref(), Some("be brief"));
        assert_eq!(
            (chat.model.as_str(), chat.max_tokens, chat.temperature),
            ("gpt-4o", Some(10), Some(0.2))
        );

        let messages = json!([{ "role": "user", "content": "a" }, { "role": "assistant", "content": "b" }]);
        let chat = ChatRequest::build(&json!({ "messages": messages }), &Value::Null, &defaults()).unwrap();
        assert_eq!(Value::Array(chat.messages), messages);

        let tools = json!([{ "type": "function", "function": { "name": "f" } }]);
        let request =
            json!({ "query": "q", "tools": tools, "tool_choice": "auto", "responseFormat": { "type": "json_object" } });
        let chat = ChatRequest::build(&request, &Value::Null, &defaults()).unwrap();
        assert_eq!(chat.tools, Some(tools));
        assert_eq!(chat.tool_choice, Some(json!("auto")));
        assert_eq!(chat.response_format, Some(json!({ "type": "json_object" })));
    }

    #[test]
    fn bad_requests_are_client_errors() {
        for request in [
            json!(3),
            json!({}),
            json!({ "messages": [] }),
            json!({ "query": 1 }),
            json!({ "query": "q", "tools": {} }),
            json!({ "query": "q", "toolChoice": 1 }),
            json!({ "query": "q", "responseFormat": "json" }),
        ] {
            let error = ChatRequest::build(&request, &Value::Null, &defaults()).unwrap_err();
            assert!(!error.retryable, "{request}");
        }
        let error = ChatRequest::build(&json!("q"), &json!({ "maxTokens": 1.5 }), &defaults()).unwrap_err();
        assert!(error.message.contains("toolOptions.maxTokens"));
    }
}
