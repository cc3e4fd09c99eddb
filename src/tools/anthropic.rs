//! The Anthropic Messages wire format.

use serde_json::{json, Value};

use super::chat::ChatRequest;
use super::message::{arguments, finish_reason, AssistantMessage, ToolCall};
use super::provider::{ProviderTool, WireFormat};
use super::stream_decode::StreamFormat;
use crate::platform::Usage;

/// `POST {baseUrl}/messages` with `x-api-key` and `anthropic-version`.
pub struct AnthropicMessages;

/// The `anthropicMessages` tool.
pub type AnthropicMessagesTool = ProviderTool<AnthropicMessages>;

/// The API version this format is written against (`anthropicVersion` overrides).
const API_VERSION: &str = "2023-06-01";

impl WireFormat for AnthropicMessages {
    const PROVIDER: &'static str = "anthropic";
    const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com/v1";
    const PATH: &'static str = "/messages";
    const DEFAULT_MAX_TOKENS: Option<u64> = Some(1024);
    const AUTH_HEADER: Option<&'static str> = Some("x-api-key");
    const VERSION_HEADER: Option<(&'static str, &'static str)> = Some(("anthropic-version", API_VERSION));
    const COMPLETION_TOKENS: bool = false;
    const STREAM: StreamFormat = StreamFormat::Anthropic;

    /// `responseFormat` has no Anthropic equivalent and is not sent.
    fn body(chat: &ChatRequest) -> Value {
        let mut body = json!({
            "model": chat.model,
            "max_tokens": chat.max_tokens.unwrap_or(1024),
            "messages": chat.messages,
        });
        if let Some(object) = body.as_object_mut() {
            let optional = [
                ("system", chat.system.clone().map(Value::from)),
                ("temperature", chat.temperature.map(Value::from)),
                ("tools", chat.tools.clone()),
                ("tool_choice", chat.tool_choice.clone()),
            ];
            for (key, value) in optional {
                if let Some(value) = value {
                    object.insert(key.into(), value);
                }
            }
        }
        body
    }

    fn parse(body: &Value) -> Result<(AssistantMessage, Option<Usage>), String> {
        let blocks = body.get("content").and_then(Value::as_array).ok_or("no content")?;
        let mut message = AssistantMessage::default();
        for block in blocks {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => message
                    .text
                    .push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
                Some("tool_use") => message.tool_calls.push(ToolCall {
                    id: block.get("id").and_then(Value::as_str).map(str::to_owned),
                    name: block
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or("a tool_use block has no name")?
                        .to_owned(),
                    arguments: arguments(block.get("input")),
                }),
                _ => {}
            }
        }
        let stop = body.get("stop_reason").and_then(Value::as_str);
        if stop == Some("refusal") {
            message.refusal = Some(message.text.clone());
        }
        message.finish_reason = finish_reason(stop);
        let usage = body.get("usage").and_then(|u| serde_json::from_value(u.clone()).ok());
        Ok((message, usage))
    }
}
