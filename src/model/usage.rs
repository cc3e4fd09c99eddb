//! What a call uses: tokens reported, and what it may use at most, known
//! before it starts (for budget pre-checks and fitting `max_tokens`).

use serde::{Deserialize, Serialize};

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
