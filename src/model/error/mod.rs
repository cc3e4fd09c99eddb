//! Errors: what a tool call can fail with ([`ToolError`], classified in this
//! one place) and what a run can fail with ([`OrchestratorError`], each
//! variant with a stable machine-readable [`code`](OrchestratorError::code)).

use std::fmt;

use super::budget::BudgetType;
use super::reasons::{InterruptReason, StoreError};
use super::usage::Usage;

mod tool;

pub use tool::{ToolError, ToolErrorCategory};

/// Why an idempotency key could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The key was used with a different request, tool or options.
    FingerprintMismatch,
    /// Another isolate holds the key and has not finished.
    InProgress,
}

impl ConflictReason {
    /// `fingerprint_mismatch` or `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FingerprintMismatch => "fingerprint_mismatch",
            Self::InProgress => "in_progress",
        }
    }
}

/// Why a run (or building an orchestrator) failed.
#[derive(Clone, Debug)]
pub enum OrchestratorError {
    /// Configuration rejected at construction.
    InvalidConfig {
        /// The config path as the user spelled it (`reliability.retryPolicy.maxAttempts`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `run()` argument rejected before anything ran.
    InvalidRequest {
        /// The option or part of the request (`idempotencyKey`, `budget.tokens`, `request`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// An explicit `toolName` that is not registered.
    UnknownTool {
        /// The name asked for.
        tool_name: String,
    },
    /// No rule matched and there is no default tool.
    NoTool,
    /// The plan ran out: a non-retryable failure, retries exhausted on the
    /// last tool, or every breaker open.
    ToolExecution {
        /// The last tool tried (or the first planned, when none could be).
        tool_name: String,
        /// Tool calls made in the run, across fallbacks.
        attempts: u32,
        /// The category of the last failure (`circuit_open` when none ran).
        category: ToolErrorCategory,
        /// The last failure, when a call was made.
        cause: Option<Box<ToolError>>,
    },
    /// A budget stopped the run.
    BudgetExceeded {
        /// Which budget.
        budget_type: BudgetType,
        /// Its limit.
        limit: f64,
        /// What the run had actually spent.
        spent: f64,
        /// For a call (or wait) refused before it started: the total it
        /// would have needed (`spent` plus its estimate).
        requested: Option<f64>,
    },
    /// The idempotency key cannot be used for this run.
    Conflict {
        /// The caller's key.
        key: String,
        /// Why.
        reason: ConflictReason,
    },
    /// The run passed its `timeoutMs`.
    Timeout {
        /// The deadline it was given.
        timeout_ms: f64,
    },
    /// The caller aborted the run.
    Aborted,
    /// A stream that had begun ended early (and the run did not continue it).
    StreamInterrupted {
        /// The tool whose stream ended.
        tool_name: String,
        /// Tool calls made in the run, across fallbacks.
        attempts: u32,
        /// Why it ended.
        reason: InterruptReason,
        /// The text delivered before it ended.
        partial: String,
        /// Tokens used across the run, that stream included.
        usage: Usage,
        /// The failure that ended it, when there was one.
        cause: Option<Box<ToolError>>,
    },
    /// The idempotency store failed before the tool ran, and the config says
    /// to fail rather than risk a second execution.
    Store(StoreError),
}

impl OrchestratorError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } => "invalid_config",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::UnknownTool { .. } => "unknown_tool",
            Self::NoTool => "no_tool",
            Self::ToolExecution { .. } => "tool_failed",
            Self::BudgetExceeded { .. } => "budget_exceeded",
            Self::Conflict { .. } => "conflict",
            Self::Timeout { .. } => "timeout",
            Self::StreamInterrupted { .. } => "stream_interrupted",
            Self::Aborted => "aborted",
            Self::Store(_) => "store_failed",
        }
    }

    /// An `invalid_config` error for `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An `invalid_request` error for `field`.
    pub fn request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for OrchestratorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig { field, message } => {
                write!(f, "invalid config `{field}`: {message}")
            }
            Self::InvalidRequest { field, message } => {
                write!(f, "invalid request `{field}`: {message}")
            }
            Self::UnknownTool { tool_name } => write!(f, "unknown tool `{tool_name}`"),
            Self::NoTool => write!(f, "no rule matched and no default tool is configured"),
            Self::ToolExecution {
                tool_name,
                attempts,
                category,
                cause,
            } => {
                write!(
                    f,
                    "tool `{tool_name}` failed after {attempts} attempt(s) ({})",
                    category.as_str()
                )?;
                if let Some(cause) = cause {
                    write!(f, ": {cause}")?;
                }
                Ok(())
            }
            Self::BudgetExceeded {
                budget_type,
                limit,
                spent,
                requested,
            } => {
                write!(f, "{} budget exceeded: spent {spent} of {limit}", budget_type.as_str())?;
                match requested {
                    Some(requested) => write!(f, "; the next call would need {requested} in total"),
                    None => Ok(()),
                }
            }
            Self::Conflict { key, reason } => {
                write!(f, "idempotency key `{key}` conflicts ({})", reason.as_str())
            }
            Self::Timeout { timeout_ms } => write!(f, "run timed out after {timeout_ms} ms"),
            Self::Aborted => write!(f, "run aborted"),
            Self::StreamInterrupted {
                tool_name,
                reason,
                partial,
                ..
            } => write!(
                f,
                "the stream from `{tool_name}` was interrupted ({}) after {} characters",
                reason.as_str(),
                partial.chars().count()
            ),
            Self::Store(error) => write!(f, "idempotency {error}; not running the tool"),
        }
    }
}

impl std::error::Error for OrchestratorError {}

/// A failed run: the error, the run's ids, and the last output the run
/// paid for (set when a budget stopped it after a successful call).
#[derive(Clone, Debug)]
pub struct RunError<V> {
    /// What went wrong.
    pub error: OrchestratorError,
    /// The run's trace id.
    pub trace_id: String,
    /// The run's request id.
    pub request_id: String,
    /// The output the run had when it stopped, if any.
    pub output: Option<V>,
}

impl<V> RunError<V> {
    /// Shortcut for `self.error.code()`.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }
}

impl<V> fmt::Display for RunError<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [trace {} request {}]",
            self.error, self.trace_id, self.request_id
        )
    }
}

impl<V: fmt::Debug> std::error::Error for RunError<V> {}
