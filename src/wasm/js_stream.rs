//! A JS tool's stream as a [`ChunkStream`]: `stream(request, toolOptions, ctx)`
//! returns (a promise of) an async iterable or a `ReadableStream` of chunks
//! (`{ text?, usage?, costUsd? }`, or a plain string). Every step is guarded;
//! dropping the stream (the run ended, timed out or was cancelled) calls the
//! iterator's `return()` or the reader's `cancel()`, so the upstream stops.

use futures::stream::{self, StreamExt};
use wasm_bindgen::JsValue;

use super::errors::{cost_of, tool_error_from_js, usage_of};
use super::guard::{self, describe, settled, Unsettled};
use super::pull::Pull;
use crate::model::error::ToolError;
use crate::platform::{Chunk, ChunkStream, InterruptReason};

fn malformed(tool: &str, why: String) -> ToolError {
    ToolError::invalid_output(tool, why)
        .with_retryable(false)
        .with_interrupt(InterruptReason::Malformed)
}

/// Finds the chunk source in what `stream()` resolved to.
fn source_of(tool: &str, value: &JsValue) -> Result<Pull, ToolError> {
    let unreadable = |e: JsValue| malformed(tool, format!("its stream cannot be read: {}", describe(&e)));
    if let Some(iterator) = Pull::iterator_of(value).map_err(unreadable)? {
        return Ok(iterator);
    }
    if let Some(reader) = Pull::reader_of(value).map_err(unreadable)? {
        return Ok(reader);
    }
    Err(malformed(
        tool,
        "stream() must return an async iterable or a ReadableStream".into(),
    ))
}

/// One chunk as the tool gave it.
fn chunk_of(tool: &str, value: &JsValue) -> Result<Chunk, ToolError> {
    if let Some(text) = value.as_string() {
        return Ok(Chunk {
            text,
            ..Chunk::default()
        });
    }
    if !value.is_object() {
        return Err(malformed(
            tool,
            format!("a chunk must be an object or a string, got {}", describe(value)),
        ));
    }
    let unreadable = |e: JsValue| malformed(tool, format!("a chunk cannot be read: {}", describe(&e)));
    let text = guard::get(value, "text").map_err(unreadable)?;
    let text = match text.as_string() {
        Some(text) => text,
        None if text.is_undefined() || text.is_null() => String::new(),
        None => return Err(malformed(tool, "a chunk's `text` must be a string".into())),
    };
    Ok(Chunk {
        text,
        usage: usage_of(value).map_err(|m| malformed(tool, m))?,
        cost_usd: cost_of(value),
        finish_reason: guard::prop(value, "finishReason").and_then(|f| f.as_string()),
    })
}

/// Pulls the next chunk: `None` when the source is done.
async fn pull(tool: &str, source: &mut Pull) -> Option<Result<Chunk, ToolError>> {
    let step = match source.step().await {
        Ok(step) => step,
        Err(Unsettled::Rejected(thrown)) => return Some(Err(tool_error_from_js(thrown))),
        Err(Unsettled::Broken(thrown)) => return Some(Err(malformed(tool, describe(&thrown)))),
    };
    let done = guard::get(&step, "done").map(|d| d.as_bool().unwrap_or(false));
    match done {
        Err(e) => Some(Err(malformed(tool, describe(&e)))),
        Ok(true) => {
            source.finished();
            None
        }
        Ok(false) => Some(
            guard::get(&step, "value")
                .map_err(|e| malformed(tool, describe(&e)))
                .and_then(|v| chunk_of(tool, &v)),
        ),
    }
}

/// The chunks of what a JS `stream()` call returned.
pub fn chunks_of(tool: String, returned: Result<JsValue, JsValue>) -> ChunkStream {
    enum State {
        Opening(Result<JsValue, JsValue>),
        Reading(Pull),
        Finished,
    }
    stream::unfold((State::Opening(returned), tool), |(state, tool)| async move {
        let mut source = match state {
            State::Finished => return None,
            State::Reading(source) => source,
            State::Opening(returned) => {
                let opened = match returned {
                    Err(thrown) => Err(tool_error_from_js(thrown)),
                    Ok(value) => match settled(value).await {
                        Ok(value) => source_of(&tool, &value),
                        Err(Unsettled::Rejected(thrown)) => Err(tool_error_from_js(thrown)),
                        Err(Unsettled::Broken(thrown)) => Err(malformed(&tool, describe(&thrown))),
                    },
                };
                match opened {
                    Ok(source) => source,
                    Err(error) => return Some((Err(error), (State::Finished, tool))),
                }
            }
        };
        match pull(&tool, &mut source).await {
            None => None,
            Some(Err(error)) => Some((Err(error), (State::Finished, tool))),
            Some(Ok(chunk)) => Some((Ok(chunk), (State::Reading(source), tool))),
        }
    })
    .boxed_local()
}
