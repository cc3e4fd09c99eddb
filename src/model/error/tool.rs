//! What a tool call can fail with: one [`ToolError`], classified here and
//! nowhere else.

use std::any::Any;
use std::fmt;
use std::rc::Rc;

use super::super::budget::Exceeded;
use super::super::reasons::InterruptReason;
use super::super::retry_after::RetryHint;
use super::super::usage::Usage;

/// What kind of failure a tool call met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ToolErrorCategory {
    /// 429: the provider asks us to slow down (retryable, counts against it).
    RateLimit,
    /// 5xx: the provider failed (retryable).
    Server,
    /// 408, an attempt timeout or a `TimeoutError` (retryable).
    Timeout,
    /// The request never got an answer: connection refused, reset, DNS (retryable).
    Network,
    /// 400, 401, 403, 404, 409, 422 or a validation error: the request's fault.
    Client,
    /// The tool answered with something that is not an output.
    InvalidOutput,
    /// Every breaker on the plan was open.
    CircuitOpen,
    /// Anything else; not retried.
    Unknown,
}

impl ToolErrorCategory {
    /// The snake_case name used in JS (`rate_limit`, `server`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimit => "rate_limit",
            Self::Server => "server",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::Client => "client",
            Self::InvalidOutput => "invalid_output",
            Self::CircuitOpen => "circuit_open",
            Self::Unknown => "unknown",
        }
    }

    /// Whether failures of this kind are worth another try by default.
    pub fn retryable_by_default(self) -> bool {
        matches!(self, Self::RateLimit | Self::Server | Self::Timeout | Self::Network)
    }

    /// The category an HTTP status belongs to.
    pub fn from_status(status: u16) -> Self {
        match status {
            429 => Self::RateLimit,
            408 => Self::Timeout,
            500..=599 => Self::Server,
            400..=499 => Self::Client,
            _ => Self::Unknown,
        }
    }
}

/// One failed tool call.
///
/// Retry, breaker and fallback decisions all read [`ToolError::retryable`];
/// nothing else in the crate looks at a status code.
#[derive(Clone)]
pub struct ToolError {
    /// What kind of failure this is.
    pub category: ToolErrorCategory,
    /// Whether another call may succeed. Retryable failures also count
    /// against the provider's circuit breaker; the request's own faults do not.
    pub retryable: bool,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// A human-readable description (never contains credentials).
    pub message: String,
    /// The server's `Retry-After` / `retry-after-ms` hint, if any.
    pub retry_hint: Option<RetryHint>,
    /// Tokens the failed call still used (they count against budgets).
    pub usage: Option<Usage>,
    /// What the failed call still cost.
    pub cost_usd: Option<f64>,
    /// The host's original error value (a thrown JS value), handed back as `cause`.
    pub source: Option<Rc<dyn Any>>,
    /// Set by tools that make calls of their own (a bundle) when the run's
    /// budget stopped them: the run then ends with `BudgetExceeded`.
    pub budget_exceeded: Option<Box<Exceeded>>,
    /// For a stream that had begun: why it ended early (when the tool knows).
    pub interrupt: Option<InterruptReason>,
    /// The provider answered, but `validate` rejected the answer: retryable,
    /// yet not held against the provider's circuit breaker.
    pub rejected_by_validate: bool,
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolError")
            .field("category", &self.category)
            .field("retryable", &self.retryable)
            .field("status", &self.status)
            .field("message", &self.message)
            .field("retry_hint", &self.retry_hint)
            .field("usage", &self.usage)
            .field("cost_usd", &self.cost_usd)
            .field("budget_exceeded", &self.budget_exceeded)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} ({}): {}", self.category.as_str(), status, self.message),
            None => write!(f, "{}: {}", self.category.as_str(), self.message),
        }
    }
}

impl std::error::Error for ToolError {}

impl ToolError {
    /// A failure of `category`, retryable as the category says.
    pub fn new(category: ToolErrorCategory, message: impl Into<String>) -> Self {
        Self {
            category,
            retryable: category.retryable_by_default(),
            status: None,
            message: message.into(),
            retry_hint: None,
            usage: None,
            cost_usd: None,
            source: None,
            budget_exceeded: None,
            interrupt: None,
            rejected_by_validate: false,
        }
    }

    /// Marks a failure of a stream that had begun with why it ended.
    pub fn with_interrupt(mut self, reason: InterruptReason) -> Self {
        self.interrupt = Some(reason);
        self
    }

    /// Why a stream that had begun ended with this failure: the tool's word,
    /// else what its category suggests.
    pub fn interrupt_reason(&self) -> InterruptReason {
        self.interrupt.unwrap_or(match self.category {
            ToolErrorCategory::InvalidOutput => InterruptReason::Malformed,
            ToolErrorCategory::Timeout => InterruptReason::IdleTimeout,
            _ if self.status.is_some() => InterruptReason::ProviderError,
            ToolErrorCategory::RateLimit | ToolErrorCategory::Server => InterruptReason::ProviderError,
            _ => InterruptReason::Cut,
        })
    }

    /// A failure classified by its HTTP status.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        let mut error = Self::new(ToolErrorCategory::from_status(status), message);
        error.status = Some(status);
        error
    }

    /// A retryable timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ToolErrorCategory::Timeout, message)
    }

    /// A retryable network failure.
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(ToolErrorCategory::Network, message)
    }

    /// A non-retryable fault of the request (validation).
    pub fn client(message: impl Into<String>) -> Self {
        Self::new(ToolErrorCategory::Client, message)
    }

    /// A tool that returned something other than an output.
    pub fn invalid_output(tool_name: &str, message: impl fmt::Display) -> Self {
        Self::new(
            ToolErrorCategory::InvalidOutput,
            format!("tool `{tool_name}` returned an invalid output: {message}"),
        )
    }

    /// Overrides whether the failure is retryable (an explicit flag wins).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Attaches the server's retry hint.
    pub fn with_retry_hint(mut self, hint: Option<RetryHint>) -> Self {
        self.retry_hint = hint;
        self
    }

    /// Attaches what the failed call still used.
    pub fn with_usage(mut self, usage: Option<Usage>, cost_usd: Option<f64>) -> Self {
        self.usage = usage;
        self.cost_usd = cost_usd;
        self
    }

    /// Keeps the host's original error value.
    pub fn with_source(mut self, source: Rc<dyn Any>) -> Self {
        self.source = Some(source);
        self
    }

    /// Marks the failure as the run's budget stopping the tool (not retryable).
    pub fn with_budget_exceeded(mut self, exceeded: Exceeded) -> Self {
        self.budget_exceeded = Some(Box::new(exceeded));
        self.retryable = false;
        self
    }

    /// Whether the failure counts against the provider's circuit breaker.
    pub fn counts_against_provider(&self) -> bool {
        self.retryable && !self.rejected_by_validate
    }
}
