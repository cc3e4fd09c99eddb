//! A provider tool's streamed call: the request with `stream: true` (and
//! OpenAI's `stream_options.include_usage`), an error status read whole and
//! classified as for a whole call, then the body's server-sent events decoded
//! into chunks as they arrive, each priced from the usage it reports.
//!
//! A run continuing an interrupted stream passes the text delivered so far
//! (`ctx.partial`): it goes to the provider as the assistant's prefix
//! (Anthropic continues a trailing assistant message; OpenAI-format gets it as
//! an assistant message and a request to continue).

use std::collections::VecDeque;
use std::rc::Rc;

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::super::chat::ChatRequest;
use super::super::http_failure;
use super::super::pricing::Pricing;
use super::super::sse::SseParser;
use super::super::stream_decode::{StreamDecoder, StreamFormat};
use crate::model::error::ToolError;
use crate::platform::{Chunk, ChunkStream, HttpClient, HttpError, HttpRequest, InterruptReason, StreamingResponse};

/// Asks to continue after `partial`, in the conversation of `chat`.
pub fn continue_from(mut chat: ChatRequest, partial: Option<&str>, format: StreamFormat) -> ChatRequest {
    let Some(partial) = partial else {
        return chat;
    };
    match format {
        // A trailing assistant message is a prefix the model continues (it may
        // not end in whitespace).
        StreamFormat::Anthropic => chat
            .messages
            .push(json!({ "role": "assistant", "content": partial.trim_end() })),
        StreamFormat::OpenAi => {
            chat.messages.push(json!({ "role": "assistant", "content": partial }));
            chat.messages.push(json!({
                "role": "user",
                "content": "Continue exactly where your previous message stopped, without repeating any of it.",
            }));
        }
    }
    chat
}

/// The body of a streamed call in `format`.
pub fn streaming_body(mut body: Value, format: StreamFormat) -> Value {
    if let Value::Object(map) = &mut body {
        map.insert("stream".into(), Value::Bool(true));
        if format == StreamFormat::OpenAi {
            map.insert("stream_options".into(), json!({ "include_usage": true }));
        }
    }
    body
}

/// What a streamed call needs once it is on its way.
pub struct Streamed {
    pub http: Rc<dyn HttpClient>,
    pub request: HttpRequest,
    pub signal: crate::platform::AbortSignal,
    pub format: StreamFormat,
    pub provider: String,
    pub model: String,
    pub pricing: Pricing,
    pub secrets: Rc<[String]>,
}

/// Reading state: the body, the parser, the decoder, decoded chunks not yet handed out.
struct Reading {
    body: futures::stream::LocalBoxStream<'static, Result<String, HttpError>>,
    parser: SseParser,
    decoder: StreamDecoder,
    ready: VecDeque<Result<Chunk, ToolError>>,
    ended: bool,
    model: String,
    pricing: Pricing,
    provider: String,
    secrets: Rc<[String]>,
}

impl Reading {
    /// Reads the body until a chunk is ready (or the body ends).
    async fn next(&mut self) -> Option<Result<Chunk, ToolError>> {
        loop {
            if let Some(ready) = self.ready.pop_front() {
                return Some(ready);
            }
            if self.ended {
                return None;
            }
            match self.body.next().await {
                Some(Ok(text)) => self.feed(&text),
                Some(Err(error)) => {
                    self.ended = true;
                    let error = http_failure::from_transport(&self.provider, error, &self.secrets);
                    return Some(Err(error.with_interrupt(InterruptReason::Cut)));
                }
                None => {
                    self.ended = true;
                    return self.decoder.end().err().map(Err);
                }
            }
        }
    }

    fn feed(&mut self, text: &str) {
        let events = match self.parser.feed(text) {
            Ok(events) => events,
            Err(why) => {
                self.fail(http_failure::malformed(&self.provider, &why).with_interrupt(InterruptReason::Malformed));
                return;
            }
        };
        for event in events {
            match self.decoder.decode(&event) {
                Ok(Some(mut chunk)) => {
                    chunk.cost_usd = chunk.usage.and_then(|u| self.pricing.cost(&self.model, &u));
                    let empty = chunk.text.is_empty() && chunk.usage.is_none() && chunk.finish_reason.is_none();
                    if !empty {
                        self.ready.push_back(Ok(chunk));
                    }
                }
                Ok(None) => {}
                Err(error) => return self.fail(error),
            }
            if self.decoder.finished() {
                self.ended = true;
                return;
            }
        }
    }

    fn fail(&mut self, error: ToolError) {
        self.ready.push_back(Err(error));
        self.ended = true;
    }
}

/// Sends a streamed call and decodes its events.
pub fn chunks(call: Result<Streamed, ToolError>) -> ChunkStream {
    let opened = async move {
        let call = call?;
        let response = call
            .http
            .send_streaming(call.request, call.signal)
            .await
            .map_err(|e| http_failure::from_transport(&call.provider, e, &call.secrets))?;
        if !(200..300).contains(&response.status) || !is_event_stream(&response) {
            return Err(whole_failure(response, &call.provider, &call.secrets).await);
        }
        Ok(Reading {
            body: response.body,
            parser: SseParser::new(),
            decoder: StreamDecoder::new(call.format, &call.provider),
            ready: VecDeque::new(),
            ended: false,
            model: call.model,
            pricing: call.pricing,
            provider: call.provider,
            secrets: call.secrets,
        })
    };
    stream::once(opened)
        .flat_map(|opened| match opened {
            Err(error) => stream::once(async move { Err(error) }).boxed_local(),
            Ok(reading) => stream::unfold(reading, |mut reading| async move {
                let item = reading.next().await?;
                Some((item, reading))
            })
            .boxed_local(),
        })
        .boxed_local()
}

fn is_event_stream(response: &StreamingResponse) -> bool {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .is_none_or(|(_, v)| v.to_ascii_lowercase().contains("text/event-stream"))
}

/// An error status (or a 2xx that is not an event stream: an error body such as
/// OpenRouter's), read whole and classified as a whole call's would be.
async fn whole_failure(response: StreamingResponse, provider: &str, secrets: &[String]) -> ToolError {
    match response.into_response().await {
        Err(error) => http_failure::from_transport(provider, error, secrets),
        Ok(whole) if (200..300).contains(&whole.status) => {
            let body: Option<Value> = serde_json::from_str(&whole.body).ok();
            match body {
                Some(body) if http_failure::BodyError::from_body(&body).is_some() => {
                    http_failure::from_response(provider, &whole, secrets)
                }
                _ => http_failure::malformed(provider, "a streamed call did not answer with server-sent events"),
            }
        }
        Ok(whole) => http_failure::from_response(provider, &whole, secrets),
    }
}
