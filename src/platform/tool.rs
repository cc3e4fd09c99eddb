//! What a tool is to the core: something that turns a request into an
//! output, asynchronously, and says which provider it depends on.

use futures::future::LocalBoxFuture;
use serde_json::Value;

use super::http::{HttpError, HttpRequest, HttpResponse};
use super::stream::{whole_as_stream, ChunkStream};
use super::AbortSignal;
use crate::model::budget::Spend;
use crate::model::error::ToolError;
use crate::model::payload::Payload;
use crate::model::usage::{ToolEstimate, Usage};

/// A successful tool call.
#[derive(Clone, Debug)]
pub struct ToolOutput<V> {
    /// What the tool produced, passed to the caller untouched.
    pub output: V,
    /// Tokens the call used, if the tool knows.
    pub usage: Option<Usage>,
    /// What the call cost in US dollars, if the tool knows.
    pub cost_usd: Option<f64>,
    /// The normalised assistant message (`{ text, toolCalls, refusal,
    /// finishReason }`) of a model tool, if it has one.
    pub message: Option<Value>,
}

/// What a tool is told about the call it is making.
#[derive(Clone)]
pub struct ToolContext {
    /// The run's trace id as the caller gave it (or the request id).
    pub trace_id: String,
    /// The run's request id.
    pub request_id: String,
    /// 1-based attempt number for this tool within the run.
    pub attempt: u32,
    /// The name the tool is registered under.
    pub tool_name: String,
    /// A fresh W3C `traceparent` for this attempt (new span id each call).
    pub traceparent: String,
    /// Aborted when the attempt times out, the run's deadline passes or the
    /// caller aborts; a tool should stop its work then.
    pub signal: AbortSignal,
    /// The run's budget as spent when this call started, for tools that make
    /// calls of their own (a bundle checks each replicate against it).
    pub spend: Spend,
    /// For a streaming run continuing after another tool's stream was
    /// interrupted: the text already delivered, to continue from (as the
    /// assistant's prefix).
    pub partial: Option<String>,
}

/// A callable tool.
pub trait Tool<V> {
    /// The provider whose circuit breaker guards this tool (`"default"` when
    /// the tool does not name one).
    fn provider(&self) -> &str;

    /// Calls the tool once.
    ///
    /// # Errors
    /// A [`ToolError`] whose category says whether the call may be retried.
    fn execute(
        &self,
        request: &V,
        options: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<V>, ToolError>>;

    /// An upper bound on what one call will use, for budget pre-checks.
    /// The default knows nothing.
    fn estimate(&self, _request: &V, _options: &Value) -> ToolEstimate {
        ToolEstimate::default()
    }

    /// Whether [`Self::estimate`] reads the request (a provider counts its
    /// prompt). A driver shares a plan between runs only when no step's
    /// estimate does; the default assumes it might.
    fn estimate_reads_request(&self) -> bool {
        true
    }

    /// The tool as one HTTP exchange a host driver may send itself (a
    /// provider's call), or `None` when it must be [executed](Self::execute).
    fn exchanging(&self) -> Option<&dyn Exchanging<V>> {
        None
    }

    /// Calls the tool once, streaming its answer. The default runs it whole
    /// and yields its output as one chunk.
    fn stream(&self, request: &V, options: &Value, ctx: ToolContext) -> ChunkStream
    where
        V: Payload,
    {
        whole_as_stream(self.execute(request, options, ctx))
    }
}

/// How a call's answer is read from its HTTP response, or from why none came.
pub type ReadAnswer<V> = Box<dyn FnOnce(Result<HttpResponse, HttpError>) -> Result<ToolOutput<V>, ToolError>>;

/// One call of a tool that is a single HTTP exchange: what to send, and how
/// to read what comes back. [`Tool::execute`] of such a tool is exactly this
/// over its own [`HttpClient`](super::HttpClient); a host driver may send
/// the request with its own `fetch` instead.
pub struct Exchange<V> {
    /// The request; `Err` is the call's failure (it cannot be built).
    pub request: Result<HttpRequest, ToolError>,
    /// Reads the answer.
    pub read: ReadAnswer<V>,
}

/// A tool whose call is one HTTP exchange.
pub trait Exchanging<V> {
    /// The exchange of one call of `request` with `options`.
    fn exchange(&self, request: &V, options: &Value, ctx: &ToolContext) -> Exchange<V>;
}

#[cfg(test)]
mod tests {
    use super::Usage;
    use serde_json::json;

    #[test]
    fn usage_spellings_and_missing_total() {
        let u: Usage = serde_json::from_value(json!({ "promptTokens": 3, "completionTokens": 4 })).unwrap();
        assert_eq!(u, Usage::new(3, 4, Some(7)));
        let u: Usage =
            serde_json::from_value(json!({ "input_tokens": 5, "output_tokens": 1, "total_tokens": 9 })).unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (5, 1, 9));
        let u: Usage = serde_json::from_value(json!({ "prompt_tokens": -2, "completionTokens": 2.6 })).unwrap();
        assert_eq!(u, Usage::new(0, 3, None));
    }
}
