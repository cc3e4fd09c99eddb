//! The OpenAI Chat Completions wire format (also spoken by many gateways
//! and local servers: Azure OpenAI, OpenRouter, Groq, Workers AI, Gemini's
//! compatibility endpoint, Ollama).

use serde_json::{json, Map, Value};

use super::chat::ChatRequest;
use super::message::{arguments, content_text, finish_reason, AssistantMessage, ToolCall};
use super::provider::{ProviderTool, WireFormat};
use super::stream_decode::StreamFormat;
use crate::platform::Usage;

/// `POST {baseUrl}/chat/completions` with a bearer key.
pub struct OpenAiChat;

/// The `openaiChat` tool.
pub type OpenAiChatTool = ProviderTool<OpenAiChat>;

/// Model families that reject `max_tokens` for `max_completion_tokens`:
/// the o-series (`o1`, `o3-mini`, `o4-mini`, ...) and `gpt-5*`, also behind
/// a gateway's `vendor/` prefix.
pub fn wants_completion_tokens(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    let o_series = name.starts_with('o') && name[1..].starts_with(|c: char| c.is_ascii_digit());
    o_series || name.starts_with("gpt-5")
}

fn insert(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.into(), value);
    }
}

/// `tool_calls` entries (and the legacy `function_call`) as tool calls.
fn tool_calls(message: &Value) -> Result<Vec<ToolCall>, String> {
    let call = |c: &Value, id: Option<String>| -> Result<ToolCall, String> {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a tool call has no function name")?;
        Ok(ToolCall {
            id,
            name: name.to_owned(),
            arguments: arguments(c.get("arguments")),
        })
    };
    let mut calls = Vec::new();
    for c in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = c.get("id").and_then(Value::as_str).map(str::to_owned);
        calls.push(call(c.get("function").unwrap_or(&Value::Null), id)?);
    }
    if let Some(legacy) = message.get("function_call").filter(|f| f.is_object()) {
        calls.push(call(legacy, None)?);
    }
    Ok(calls)
}

impl WireFormat for OpenAiChat {
    const PROVIDER: &'static str = "openai";
    const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";
    const PATH: &'static str = "/chat/completions";
    const DEFAULT_MAX_TOKENS: Option<u64> = None;
    const AUTH_HEADER: Option<&'static str> = None;
    const VERSION_HEADER: Option<(&'static str, &'static str)> = None;
    const COMPLETION_TOKENS: bool = true;
    const STREAM: StreamFormat = StreamFormat::OpenAi;

    fn body(chat: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(chat.messages.len() + 1);
        if let Some(system) = &chat.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        messages.extend(chat.messages.iter().cloned());
        let mut body = Map::new();
        body.insert("model".into(), chat.model.clone().into());
        body.insert("messages".into(), messages.into());
        let limit = if chat.completion_tokens || wants_completion_tokens(&chat.model) {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        insert(&mut body, limit, chat.max_tokens.map(Value::from));
        insert(&mut body, "temperature", chat.temperature.map(Value::from));
        insert(&mut body, "tools", chat.tools.clone());
        insert(&mut body, "tool_choice", chat.tool_choice.clone());
        insert(&mut body, "response_format", chat.response_format.clone());
        Value::Object(body)
    }

    fn parse(body: &Value) -> Result<(AssistantMessage, Option<Usage>), String> {
        let choice = body.pointer("/choices/0").ok_or("no choices[0]")?;
        let message = choice
            .get("message")
            .filter(|m| m.is_object())
            .ok_or("no choices[0].message")?;
        let parsed = AssistantMessage {
            text: content_text(message.get("content"))?,
            tool_calls: tool_calls(message)?,
            refusal: message.get("refusal").and_then(Value::as_str).map(str::to_owned),
            finish_reason: finish_reason(choice.get("finish_reason").and_then(Value::as_str)),
        };
        let usage = body.get("usage").and_then(|u| serde_json::from_value(u.clone()).ok());
        Ok((parsed, usage))
    }
}

#[cfg(test)]
mod tests {
    use super::wants_completion_tokens;

    #[test]
    fn reasoning_families() {
        for model in [
            "o1",
            "o1-mini",
            "o3-mini",
            "o4-mini-2025-04-16",
            "gpt-5",
            "gpt-5-mini",
            "openai/o3",
        ] {
            assert!(wants_completion_tokens(model), "{model}");
        }
        for model in [
            "gpt-4o",
            "gpt-4.1-mini",
            "omni-moderation",
            "llama-3.1-8b",
            "openai/gpt-4o",
        ] {
            assert!(!wants_completion_tokens(model), "{model}");
        }
    }
}
