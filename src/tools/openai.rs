//! The OpenAI Chat Completions wire format (also spoken by many gateways
//! and local servers).

use serde_json::{json, Value};

use super::chat::ChatRequest;
use super::provider::{ProviderTool, WireFormat};
use crate::platform::Usage;

/// `POST {baseUrl}/chat/completions` with a bearer key.
pub struct OpenAiChat;

/// The `openaiChat` tool.
pub type OpenAiChatTool = ProviderTool<OpenAiChat>;

impl WireFormat for OpenAiChat {
    const PROVIDER: &'static str = "openai";
    const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";
    const PATH: &'static str = "/chat/completions";
    const DEFAULT_MAX_TOKENS: Option<u64> = None;

    fn auth_headers(api_key: Option<&str>) -> Vec<(String, String)> {
        api_key
            .map(|key| ("authorization".to_owned(), format!("Bearer {key}")))
            .into_iter()
            .collect()
    }

    fn body(chat: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(chat.messages.len() + 1);
        if let Some(system) = &chat.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        messages.extend(chat.messages.iter().cloned());
        let mut body = json!({ "model": chat.model, "messages": messages });
        if let (Some(max), Some(object)) = (chat.max_tokens, body.as_object_mut()) {
            object.insert("max_tokens".into(), max.into());
        }
        if let (Some(t), Some(object)) = (chat.temperature, body.as_object_mut()) {
            object.insert("temperature".into(), t.into());
        }
        body
    }

    fn parse(body: &Value) -> Result<(String, Option<Usage>), String> {
        let text = body
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or("no choices[0].message.content")?;
        let usage = body.get("usage").and_then(|u| serde_json::from_value(u.clone()).ok());
        Ok((text.to_owned(), usage))
    }
}
