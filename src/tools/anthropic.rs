//! The Anthropic Messages wire format.

use serde_json::{json, Value};

use super::chat::ChatRequest;
use super::provider::{ProviderTool, WireFormat};
use crate::platform::Usage;

/// `POST {baseUrl}/messages` with `x-api-key` and `anthropic-version`.
pub struct AnthropicMessages;

/// The `anthropicMessages` tool.
pub type AnthropicMessagesTool = ProviderTool<AnthropicMessages>;

/// The API version this format is written against.
const API_VERSION: &str = "2023-06-01";

impl WireFormat for AnthropicMessages {
    const PROVIDER: &'static str = "anthropic";
    const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com/v1";
    const PATH: &'static str = "/messages";
    const DEFAULT_MAX_TOKENS: Option<u64> = Some(1024);

    fn auth_headers(api_key: Option<&str>) -> Vec<(String, String)> {
        let mut headers = vec![("anthropic-version".to_owned(), API_VERSION.to_owned())];
        headers.extend(api_key.map(|key| ("x-api-key".to_owned(), key.to_owned())));
        headers
    }

    fn body(chat: &ChatRequest) -> Value {
        let mut body = json!({
            "model": chat.model,
            "max_tokens": chat.max_tokens.unwrap_or(1024),
            "messages": chat.messages,
        });
        if let Some(object) = body.as_object_mut() {
            if let Some(system) = &chat.system {
                object.insert("system".into(), system.clone().into());
            }
            if let Some(t) = chat.temperature {
                object.insert("temperature".into(), t.into());
            }
        }
        body
    }

    fn parse(body: &Value) -> Result<(String, Option<Usage>), String> {
        let blocks = body.get("content").and_then(Value::as_array).ok_or("no content")?;
        let text: String = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        if text.is_empty() && !blocks.is_empty() {
            return Err("no text content block".into());
        }
        let usage = body.get("usage").and_then(|u| serde_json::from_value(u.clone()).ok());
        Ok((text, usage))
    }
}
