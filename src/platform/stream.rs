//! Streamed tool output: a tool's [`ChunkStream`], the run's [`ChunkSink`],
//! and why a stream that had begun ended early.
//!
//! A streaming call is one attempt like any other until its first chunk with
//! text: retries, breakers and fallbacks apply. After that first chunk the
//! caller has seen text, so nothing restarts silently: an early end is an
//! [`InterruptReason`](crate::model::reasons::InterruptReason).

use futures::future::LocalBoxFuture;
use futures::stream::{self, LocalBoxStream, StreamExt};
use serde::Deserialize;
use serde_json::Value;

use super::tool::ToolOutput;
use crate::model::error::ToolError;
use crate::model::payload::Payload;
use crate::model::usage::Usage;

/// One piece of a streamed answer. `usage` and `cost_usd` are increments:
/// what this chunk adds to the call's spending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chunk {
    /// Text to append to the answer (empty for usage-only chunks).
    pub text: String,
    /// Tokens this chunk adds.
    pub usage: Option<Usage>,
    /// Cost this chunk adds, in US dollars.
    pub cost_usd: Option<f64>,
    /// The provider's finish reason, on the chunk that carries it.
    pub finish_reason: Option<String>,
}

/// A tool's streamed answer: chunks, or an error that ends it. The stream
/// ending (`None`) means the answer is complete; a stream that knows it
/// missed its terminal event yields an error with [`InterruptReason::NoTerminal`](crate::model::reasons::InterruptReason::NoTerminal).
pub type ChunkStream = LocalBoxStream<'static, Result<Chunk, ToolError>>;

/// Where a streaming run delivers text as it arrives.
pub trait ChunkSink {
    /// `text` is the next piece of the answer (never empty).
    fn chunk(&self, text: &str);
}

/// What to do when a stream that had begun is interrupted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInterrupt {
    /// End the run with `StreamInterrupted` (the default).
    #[default]
    Fail,
    /// Continue on the plan's next tool, the partial text as its prefix.
    Continue,
}

/// The text a whole (non-streaming) output stands for in a stream: a string
/// as itself, a bundle's or message's text, anything else as JSON.
pub fn text_of_output(output: &Value) -> String {
    match output {
        Value::String(text) => text.clone(),
        Value::Object(map) => match map.get("consensus").or_else(|| map.get("text")) {
            Some(Value::String(text)) => text.clone(),
            Some(other) => text_of_output(other),
            None => crate::model::json::text(output),
        },
        Value::Null => String::new(),
        other => crate::model::json::text(other),
    }
}

/// A whole call as a stream of one chunk, for tools that do not stream.
pub fn whole_as_stream<V: Payload>(call: LocalBoxFuture<'static, Result<ToolOutput<V>, ToolError>>) -> ChunkStream {
    stream::once(async move {
        let out = call.await?;
        let text = out
            .output
            .to_json()
            .map(|json| text_of_output(&json))
            .unwrap_or_default();
        Ok(Chunk {
            text,
            usage: out.usage,
            cost_usd: out.cost_usd,
            finish_reason: None,
        })
    })
    .boxed_local()
}
