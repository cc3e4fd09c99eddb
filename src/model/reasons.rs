//! Why things ended: a stream interrupted, a tool left for the next, a store
//! operation failed. Shared words of errors, events and the run machine.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a stream that had begun ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptReason {
    /// The connection was cut, or the tool's stream failed.
    Cut,
    /// No chunk within `idleTimeoutMs`.
    IdleTimeout,
    /// An event that could not be read.
    Malformed,
    /// The provider sent an error event.
    ProviderError,
    /// The stream ended without its terminal event.
    NoTerminal,
}

impl InterruptReason {
    /// The snake_case name used in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cut => "cut",
            Self::IdleTimeout => "idle_timeout",
            Self::Malformed => "malformed",
            Self::ProviderError => "provider_error",
            Self::NoTerminal => "no_terminal",
        }
    }
}

/// Why a tool was left for the next one in the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GiveUp {
    /// `maxAttempts` calls failed retryably.
    Exhausted,
    /// The server asked for a wait longer than `maxDelay` (ms).
    RetryAfterTooLong(f64),
    /// The tool's breaker is open (or its probes are all in flight).
    CircuitOpen,
    /// The next wait would not fit before the run's deadline or time budget.
    NoTimeToWait,
    /// The tool's stream broke after it began; the run continues on the next tool.
    StreamInterrupted,
}

impl GiveUp {
    /// The `reason` reported in `fallback` events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exhausted => "retries_exhausted",
            Self::RetryAfterTooLong(_) => "retry_after_too_long",
            Self::CircuitOpen => "circuit_open",
            Self::NoTimeToWait => "no_time_to_wait",
            Self::StreamInterrupted => "stream_interrupted",
        }
    }
}

/// A store operation failed (network, quota, a throwing JS store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    /// Which operation: `get`, `put`, `delete`, `putIfAbsent` or `compareAndSwap`.
    pub operation: &'static str,
    /// What the store said.
    pub message: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store {} failed: {}", self.operation, self.message)
    }
}
