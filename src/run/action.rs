//! What the machine is given and what it answers: the steps of a plan, the
//! run's limits, the shared policies, and the actions a driver performs.

use std::rc::Rc;

use crate::model::error::{OrchestratorError, ToolError};
use crate::platform::{ToolEstimate, Usage};
use crate::reliability::{BreakerRegistry, RetryPolicy};

use super::report::Deadline;

/// One candidate tool of the plan, as the machine needs it. Names are shared
/// (`Rc<str>`): a run's steps are made from each tool's, without copying them.
#[derive(Clone, Debug)]
pub struct Step {
    /// The tool's index among the orchestrator's registered tools (in name order).
    pub tool: usize,
    /// The tool's registered name.
    pub tool_name: Rc<str>,
    /// The provider whose breaker guards it.
    pub provider: Rc<str>,
    /// The rule that chose it (`None`: explicit or a default).
    pub rule: Option<String>,
    /// What one call may use at most.
    pub estimate: ToolEstimate,
}

/// The run's time limits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// The earlier of `timeoutMs` and `budget.timeMs`.
    pub deadline: Option<Deadline>,
    /// `timeoutMs`, for the error a deadline stop reports.
    pub timeout_ms: Option<f64>,
    /// `attemptTimeoutMs`.
    pub attempt_timeout_ms: Option<f64>,
    /// A streaming run's `firstChunkTimeoutMs`.
    pub first_chunk_timeout_ms: Option<f64>,
}

/// The policies shared by every run of one orchestrator.
#[derive(Clone, Copy)]
pub struct Policies<'a> {
    /// The breakers, one per provider.
    pub breakers: &'a Rc<BreakerRegistry>,
    /// Backoff and `Retry-After`.
    pub retry: &'a RetryPolicy,
}

/// Call the tool of candidate `step`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Index into the candidates the machine was built with.
    pub step: usize,
    /// 1-based attempt of this tool.
    pub attempt: u32,
    /// Calls made in the run so far, this one included.
    pub calls: u32,
    /// Abort the call (as a retryable timeout) after this many ms.
    pub timeout_ms: Option<f64>,
    /// Whether `timeout_ms` is the wait for a stream's first chunk.
    pub first_chunk: bool,
    /// The output limit a fitting tool lowers its call to.
    pub fitted_max_tokens: Option<u64>,
    /// Whether the plan has a tool after this one.
    pub has_fallback: bool,
}

impl Call {
    /// How this call's timeout reads as a tool error.
    pub fn timeout_error(&self) -> ToolError {
        let ms = self.timeout_ms.unwrap_or(0.0);
        if self.first_chunk {
            ToolError::timeout(format!("no first chunk within {ms} ms"))
        } else {
            ToolError::timeout(format!("attempt timed out after {ms} ms"))
        }
    }
}

/// The run succeeded with the output of candidate `step`.
#[derive(Clone, Debug, PartialEq)]
pub struct Succeeded {
    /// The candidate whose output it is.
    pub step: usize,
    /// Calls made in the run.
    pub attempts: u32,
    /// Tokens used across every call.
    pub usage: Usage,
    /// Cost across every call.
    pub cost_usd: Option<f64>,
}

/// The run failed.
#[derive(Clone, Debug)]
pub struct Failed {
    /// Why.
    pub error: OrchestratorError,
    /// Whether the last call's output was paid for and goes with the error.
    pub keep_output: bool,
}

/// What the driver does next.
#[derive(Clone, Debug)]
pub enum Action {
    /// Call a tool, then report [`RunMachine::succeeded`] or [`RunMachine::failed`].
    Call(Call),
    /// Wait, then report [`RunMachine::woke`].
    Wait {
        /// How long.
        delay_ms: f64,
    },
    /// Return the output of the last call.
    Done(Succeeded),
    /// Reject.
    Fail(Failed),
}

pub(super) fn fail(error: OrchestratorError) -> Action {
    Action::Fail(Failed {
        error,
        keep_output: false,
    })
}
