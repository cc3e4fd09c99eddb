//! What a run ends with: the result users get, and what an execution
//! produced or why it failed (shared between joined runs).

use serde_json::Value;

use crate::model::error::OrchestratorError;
use crate::platform::Usage;

/// A successful run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult<V> {
    /// The tool's output (replayed when `cached`).
    pub output: V,
    /// The tool that produced it.
    pub tool_name: String,
    /// Tool calls made, across fallbacks (the original run's, when `cached`).
    pub attempts: u32,
    /// Whether the output was replayed or shared rather than produced by this run.
    pub cached: bool,
    /// Tokens used across every attempt.
    pub usage: Usage,
    /// Cost across every attempt, when tools reported one.
    pub cost_usd: Option<f64>,
    /// The tool's normalised assistant message, when it has one.
    pub message: Option<Value>,
    /// The run's trace id.
    pub trace_id: String,
    /// The run's request id.
    pub request_id: String,
    /// Wall time the run took, ms.
    pub elapsed_ms: f64,
    /// Why the answer ended, when the tool said (a streaming run's provider
    /// finish reason: `stop`, `length`, ...).
    pub finish_reason: Option<String>,
}

/// What an execution produced (shared between joined runs).
#[derive(Clone, Debug)]
pub(crate) struct Done<V> {
    pub output: V,
    pub tool_name: String,
    pub attempts: u32,
    pub cached: bool,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub finish_reason: Option<String>,
    pub message: Option<Value>,
}

/// Why an execution failed, with any output it had paid for.
#[derive(Clone, Debug)]
pub(crate) struct Failure<V> {
    pub error: OrchestratorError,
    pub output: Option<V>,
}

impl<V> From<OrchestratorError> for Failure<V> {
    fn from(error: OrchestratorError) -> Self {
        Self { error, output: None }
    }
}

pub(crate) type Outcome<V> = Result<Done<V>, Failure<V>>;
