//! What a tool is to the core: something that turns a request into an
//! output, asynchronously, and says which provider it depends on.

use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stream::{whole_as_stream, ChunkStream};
use super::AbortSignal;
use crate::error::ToolError;
use crate::payload::Payload;
use crate::reliability::Spend;

/// Token counts reported by a tool.
///
/// Read from camelCase, snake_case, or Anthropic's `input_tokens` /
/// `output_tokens`; a missing total is the sum of the parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "UsageWire")]
pub struct Usage {
    /// Tokens in the prompt (`input_tokens` for Anthropic).
    pub prompt_tokens: u64,
    /// Tokens generated (`output_tokens` for Anthropic).
    pub completion_tokens: u64,
    /// All tokens; the sum of the two when the tool does not say.
    pub total_tokens: u64,
}

/// Usage as tools spell it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageWire {
    #[serde(default, alias = "prompt_tokens", alias = "input_tokens", alias = "inputTokens")]
    prompt_tokens: Option<f64>,
    #[serde(
        default,
        alias = "completion_tokens",
        alias = "output_tokens",
        alias = "outputTokens"
    )]
    completion_tokens: Option<f64>,
    #[serde(default, alias = "total_tokens")]
    total_tokens: Option<f64>,
}

/// Token counts arrive as JS numbers: negative, fractional or non-finite ones are clamped.
fn tokens(value: Option<f64>) -> Option<u64> {
    value.map(|v| if v.is_finite() && v > 0.0 { v.round() as u64 } else { 0 })
}

impl From<UsageWire> for Usage {
    fn from(wire: UsageWire) -> Self {
        Usage::new(
            tokens(wire.prompt_tokens).unwrap_or(0),
            tokens(wire.completion_tokens).unwrap_or(0),
            tokens(wire.total_tokens),
        )
    }
}

impl Usage {
    /// Builds a usage, filling a missing total with the sum of the parts. A total below
    /// the sum is not trusted (`totalTokens: 0` beside `promptTokens: 500` would let a
    /// token budget pass): totals are never below the sum of their parts.
    pub fn new(prompt_tokens: u64, completion_tokens: u64, total_tokens: Option<u64>) -> Self {
        let sum = prompt_tokens.saturating_add(completion_tokens);
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: total_tokens.map_or(sum, |total| total.max(sum)),
        }
    }

    /// Adds `other` to `self`, saturating.
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
    }
}

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

/// What a call may use at most, known before it starts (for budget pre-checks).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolEstimate {
    /// Upper bound on the tokens the call can use (e.g. prompt + `max_tokens`).
    pub tokens: Option<u64>,
    /// Upper bound on the call's cost in US dollars.
    pub cost_usd: Option<f64>,
    /// The model the tool will call but cannot price: a run with a cost
    /// budget refuses such a call rather than spend blind.
    pub unpriced_model: Option<String>,
    /// Set by a tool that fits its output limit to the token budget (the
    /// built-in tools): the call is then refused only when its prompt
    /// cannot fit, and otherwise sent with the limit lowered.
    pub fit: Option<TokenFit>,
}

/// What a tool that fits its call to the token budget needs: the prompt,
/// and the output limit it would send unfitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenFit {
    /// Estimated prompt tokens.
    pub prompt_tokens: u64,
    /// The output limit (`max_tokens`) the call would send; `None`: no limit.
    pub max_tokens: Option<u64>,
}

impl ToolEstimate {
    /// What `n` such calls may use together. Several calls are checked at
    /// their full size (each would fit itself to the whole budget left).
    pub fn times(&self, n: u64) -> Self {
        Self {
            tokens: self.tokens.map(|t| t.saturating_mul(n)),
            cost_usd: self.cost_usd.map(|c| c * n as f64),
            unpriced_model: self.unpriced_model.clone(),
            fit: self.fit.filter(|_| n <= 1),
        }
    }
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

    /// Calls the tool once, streaming its answer. The default runs it whole
    /// and yields its output as one chunk.
    fn stream(&self, request: &V, options: &Value, ctx: ToolContext) -> ChunkStream
    where
        V: Payload,
    {
        whole_as_stream(self.execute(request, options, ctx))
    }
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
