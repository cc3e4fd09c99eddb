//! The providers' streaming formats, decoded from server-sent events into
//! chunks: OpenAI Chat Completions (`data: {chunk}` ... `data: [DONE]`) and
//! Anthropic Messages (`message_start`, `content_block_delta`,
//! `message_delta`, `message_stop`, `error`). A stream that ends before its
//! terminal event, an event that cannot be read and a provider `error` event
//! are failures marked with why, so the run reports them honestly.

use serde_json::Value;

use super::sse::SseEvent;
use crate::model::error::{ToolError, ToolErrorCategory};
use crate::platform::{Chunk, InterruptReason, Usage};

/// Which format a stream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFormat {
    /// OpenAI Chat Completions and compatible providers.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

/// Decodes one stream's events.
#[derive(Debug)]
pub struct StreamDecoder {
    format: StreamFormat,
    tool: String,
    finished: bool,
    /// Anthropic reports output tokens cumulatively: what was already counted.
    output_counted: u64,
}

impl StreamDecoder {
    /// A decoder for `tool`'s stream in `format`.
    pub fn new(format: StreamFormat, tool: &str) -> Self {
        Self {
            format,
            tool: tool.to_owned(),
            finished: false,
            output_counted: 0,
        }
    }

    /// Whether the terminal event was seen.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The chunk an event carries (`None` for events with nothing to deliver).
    ///
    /// # Errors
    /// A malformed event or a provider error event.
    pub fn decode(&mut self, event: &SseEvent) -> Result<Option<Chunk>, ToolError> {
        if self.finished {
            return Ok(None);
        }
        match self.format {
            StreamFormat::OpenAi => self.openai(event),
            StreamFormat::Anthropic => self.anthropic(event),
        }
    }

    /// Checks the end of the body.
    ///
    /// # Errors
    /// `no_terminal` when the stream ended before its terminal event.
    pub fn end(&self) -> Result<(), ToolError> {
        if self.finished {
            return Ok(());
        }
        Err(ToolError::network(format!(
            "the stream from `{}` ended before its terminal event",
            self.tool
        ))
        .with_interrupt(InterruptReason::NoTerminal))
    }

    fn json(&self, data: &str) -> Result<Value, ToolError> {
        serde_json::from_str(data).map_err(|e| {
            ToolError::invalid_output(&self.tool, format!("a stream event is not JSON: {e}"))
                .with_interrupt(InterruptReason::Malformed)
        })
    }

    fn openai(&mut self, event: &SseEvent) -> Result<Option<Chunk>, ToolError> {
        if event.data.trim() == "[DONE]" {
            self.finished = true;
            return Ok(None);
        }
        let json = self.json(&event.data)?;
        if let Some(error) = json.get("error") {
            return Err(provider_error(error));
        }
        let choice = json.pointer("/choices/0");
        let text = choice
            .and_then(|c| c.pointer("/delta/content"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let usage = json.get("usage").filter(|u| u.is_object()).map(|u| {
            let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            Usage::new(
                n("prompt_tokens"),
                n("completion_tokens"),
                u.get("total_tokens").and_then(Value::as_u64),
            )
        });
        Ok(Some(Chunk {
            text: text.to_owned(),
            usage,
            cost_usd: None,
            finish_reason: choice
                .and_then(|c| c.get("finish_reason"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }))
    }

    fn anthropic(&mut self, event: &SseEvent) -> Result<Option<Chunk>, ToolError> {
        let kind = event.event.as_deref().unwrap_or("message");
        if matches!(kind, "ping" | "content_block_start" | "content_block_stop") {
            return Ok(None);
        }
        let json = self.json(&event.data)?;
        match kind {
            "message_start" => {
                let usage = json.pointer("/message/usage");
                let n = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
                self.output_counted = n("output_tokens");
                Ok(Some(usage_chunk(Usage::new(
                    n("input_tokens"),
                    n("output_tokens"),
                    None,
                ))))
            }
            "content_block_delta" => {
                let text = json.pointer("/delta/text").and_then(Value::as_str).unwrap_or_default();
                Ok(Some(Chunk {
                    text: text.to_owned(),
                    ..Chunk::default()
                }))
            }
            "message_delta" => {
                let output = json.pointer("/usage/output_tokens").and_then(Value::as_u64);
                let added = output.map_or(0, |o| o.saturating_sub(self.output_counted));
                self.output_counted = output.unwrap_or(self.output_counted).max(self.output_counted);
                let mut chunk = usage_chunk(Usage::new(0, added, None));
                chunk.finish_reason = json
                    .pointer("/delta/stop_reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Ok(Some(chunk))
            }
            "message_stop" => {
                self.finished = true;
                Ok(None)
            }
            "error" => Err(provider_error(json.get("error").unwrap_or(&json))),
            _ => Ok(None),
        }
    }
}

fn usage_chunk(usage: Usage) -> Chunk {
    Chunk {
        usage: Some(usage),
        ..Chunk::default()
    }
}

/// A provider's `error` event: retryable unless it says the request was at fault.
fn provider_error(error: &Value) -> ToolError {
    let kind = error
        .get("type")
        .or_else(|| error.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("error");
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider sent an error event");
    let category = match kind {
        "rate_limit_error" | "rate_limit_exceeded" => ToolErrorCategory::RateLimit,
        "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" => {
            ToolErrorCategory::Client
        }
        _ => ToolErrorCategory::Server,
    };
    ToolError::new(category, format!("{kind}: {message}")).with_interrupt(InterruptReason::ProviderError)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn openai_text_usage_and_done() {
        let mut d = StreamDecoder::new(StreamFormat::OpenAi, "gpt");
        let c = d
            .decode(&ev(
                None,
                r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#,
            ))
            .unwrap();
        assert_eq!(c.unwrap().text, "Hi");
        let c = d
            .decode(&ev(None, r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#))
            .unwrap()
            .unwrap();
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        let c = d
            .decode(&ev(
                None,
                r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(c.usage.unwrap().total_tokens, 5);
        assert!(d.end().is_err());
        d.decode(&ev(None, "[DONE]")).unwrap();
        assert!(d.end().is_ok());
    }

    #[test]
    fn anthropic_events_and_errors() {
        let mut d = StreamDecoder::new(StreamFormat::Anthropic, "claude");
        let start = d
            .decode(&ev(
                Some("message_start"),
                r#"{"message":{"usage":{"input_tokens":7,"output_tokens":1}}}"#,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(start.usage.unwrap().total_tokens, 8);
        let text = d
            .decode(&ev(
                Some("content_block_delta"),
                r#"{"delta":{"type":"text_delta","text":"yo"}}"#,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(text.text, "yo");
        let delta = d
            .decode(&ev(
                Some("message_delta"),
                r#"{"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}"#,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(delta.usage.unwrap().completion_tokens, 4);
        let error = d
            .decode(&ev(
                Some("error"),
                r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
            ))
            .unwrap_err();
        assert_eq!(error.interrupt, Some(InterruptReason::ProviderError));
        assert!(error.retryable);
        assert_eq!(
            d.decode(&ev(Some("content_block_delta"), "{nope"))
                .unwrap_err()
                .interrupt,
            Some(InterruptReason::Malformed)
        );
        d.decode(&ev(Some("message_stop"), "{}")).unwrap();
        assert!(d.end().is_ok());
    }
}
