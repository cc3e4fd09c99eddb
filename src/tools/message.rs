//! The assistant's reply, normalised across wire formats:
//! `{ text, toolCalls: [{ id, name, arguments }], refusal, finishReason }`.
//!
//! `arguments` is the parsed JSON object when the provider's string parses
//! to an object (Anthropic sends an object already), else the raw string.
//! `finishReason` uses one vocabulary: `stop`, `length` (truncated),
//! `tool_calls`, `content_filter`; any other reason passes through as the
//! provider spelled it, and `null` when the provider gave none.

use serde::Serialize;
use serde_json::{Map, Value};

/// One tool call the model asked for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolCall {
    /// The provider's call id (to answer with a tool result).
    pub id: Option<String>,
    /// The function's name.
    pub name: String,
    /// The arguments: a JSON object when they parse as one, else the raw string.
    pub arguments: Value,
}

/// A normalised assistant message.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantMessage {
    /// The reply text ("" when there is none).
    pub text: String,
    /// Tool calls, in the order the model made them.
    pub tool_calls: Vec<ToolCall>,
    /// Why the model declined, when it did.
    pub refusal: Option<String>,
    /// Why generation stopped.
    pub finish_reason: Option<String>,
}

impl AssistantMessage {
    /// The message as the JSON a result carries.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Tool call arguments as received: an object stays; a string that parses
/// as an object becomes it; anything else stays as it came.
pub fn arguments(raw: Option<&Value>) -> Value {
    match raw {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => parsed,
            _ => Value::String(s.clone()),
        },
        Some(other) => other.clone(),
    }
}

/// A provider's stop reason in the shared vocabulary.
pub fn finish_reason(raw: Option<&str>) -> Option<String> {
    let normal = match raw? {
        "stop" | "end_turn" | "stop_sequence" => "stop",
        "length" | "max_tokens" | "model_length" => "length",
        "tool_calls" | "tool_use" | "function_call" => "tool_calls",
        "content_filter" | "refusal" | "safety" => "content_filter",
        other => other,
    };
    Some(normal.to_owned())
}

/// The text of OpenAI-style `content`: a string, `null`, or an array of
/// parts (`{ type: "text" | "output_text", text }`; others are skipped).
///
/// # Errors
/// When `content` is none of these.
pub fn content_text(content: Option<&Value>) -> Result<String, String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => Ok(parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                _ => p.get("text").and_then(Value::as_str),
            })
            .collect()),
        Some(_) => Err("message.content is neither text nor parts".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn arguments_parse_when_they_are_an_object() {
        assert_eq!(arguments(Some(&json!("{\"a\":1}"))), json!({ "a": 1 }));
        assert_eq!(arguments(Some(&json!("{broken"))), json!("{broken"));
        assert_eq!(arguments(Some(&json!("\"s\""))), json!("\"s\""));
        assert_eq!(arguments(Some(&json!({ "b": 2 }))), json!({ "b": 2 }));
        assert_eq!(arguments(None), json!({}));
    }

    #[test]
    fn reasons_and_parts() {
        assert_eq!(finish_reason(Some("max_tokens")).as_deref(), Some("length"));
        assert_eq!(finish_reason(Some("tool_use")).as_deref(), Some("tool_calls"));
        assert_eq!(finish_reason(Some("pause_turn")).as_deref(), Some("pause_turn"));
        assert_eq!(finish_reason(None), None);
        let parts = json!([{ "type": "text", "text": "a" }, { "type": "image_url" }, { "type": "text", "text": "b" }]);
        assert_eq!(content_text(Some(&parts)).unwrap(), "ab");
        assert!(content_text(Some(&json!(3))).is_err());
    }
}
