//! Events: what happened during a run, named for what happened, delivered
//! to a listener. Nothing is built when nobody listens.

use serde::{Serialize, Serializer};

use super::budget::BudgetType;
use super::reasons::{GiveUp, InterruptReason};
use crate::model::error::ToolErrorCategory;

/// What idempotency did for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdempotencyOutcome {
    /// No record: this run executes.
    Miss,
    /// A completed record was replayed.
    Hit,
    /// The run shared an execution under way in this isolate.
    Joined,
    /// The key is in use by a different request, or in progress elsewhere.
    Conflict,
    /// The store failed (before the tool ran, with `"proceed"`, or writing the record).
    StoreFailed,
}

impl IdempotencyOutcome {
    /// The name used in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Miss => "miss",
            Self::Hit => "hit",
            Self::Joined => "joined",
            Self::Conflict => "conflict",
            Self::StoreFailed => "store_failed",
        }
    }
}

/// Tags that print as their JS name (`as_str`).
macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

/// Tags that serialise as their JS name (`as_str`).
macro_rules! serialize_as_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
serialize_as_str!(ToolErrorCategory, GiveUp, BudgetType, IdempotencyOutcome);
display_as_str!(
    ToolErrorCategory,
    GiveUp,
    BudgetType,
    IdempotencyOutcome,
    InterruptReason
);

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum EventKind {
    /// A plan was chosen.
    Plan {
        /// The primary tool.
        tool_name: String,
        /// Its fallbacks, in order.
        fallbacks: Vec<String>,
        /// The rule that chose the primary (`null` for explicit or default).
        rule: Option<String>,
        /// Tools left out because their breakers were open.
        skipped: Vec<String>,
    },
    /// A tool call starts.
    Attempt {
        /// The tool.
        tool_name: String,
        /// 1-based attempt number for this tool.
        attempt: u32,
        /// The output limit (`max_tokens`) a built-in tool lowered this call to,
        /// to fit what the token budget leaves.
        #[serde(skip_serializing_if = "Option::is_none")]
        fitted_max_tokens: Option<u64>,
    },
    /// A failed call will be retried after a wait.
    Retry {
        /// The tool.
        tool_name: String,
        /// The attempt that failed.
        attempt: u32,
        /// The wait before the next attempt.
        delay_ms: f64,
        /// The failure's category (`rate_limit`, `server`, ...).
        reason: ToolErrorCategory,
    },
    /// A tool was left for the next in the plan.
    Fallback {
        /// The tool left.
        from: String,
        /// The tool tried next.
        to: String,
        /// `retries_exhausted`, `retry_after_too_long`, `circuit_open`,
        /// `no_time_to_wait` or `stream_interrupted`.
        reason: GiveUp,
    },
    /// A breaker changed state.
    Breaker {
        /// The provider.
        provider: String,
        /// State before (`closed`, `open`, `half_open`; `null` for an ignored import).
        from: Option<String>,
        /// State after.
        to: Option<String>,
        /// Why (`failure_threshold`, `timeout_elapsed`, `probe_succeeded`,
        /// `probe_failed`, `import`, `import_ignored`).
        reason: Option<String>,
        /// Details, for `import_ignored`.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// What idempotency did for the run.
    Idempotency {
        /// `miss`, `hit`, `joined`, `conflict` or `store_failed`.
        outcome: IdempotencyOutcome,
        /// The caller's key.
        key: String,
    },
    /// A streaming attempt delivered its first chunk with text.
    FirstChunk {
        /// The tool.
        tool_name: String,
        /// Its attempt number.
        attempt: u32,
        /// Time from the attempt's start to its first chunk, ms.
        ttft_ms: f64,
    },
    /// A stream completed.
    StreamEnd {
        /// Chunks with text delivered across the run.
        chunks: u32,
        /// Time since the run started, ms.
        elapsed_ms: f64,
    },
    /// A stream that had begun ended early.
    StreamInterrupted {
        /// The tool whose stream ended.
        tool_name: String,
        /// `cut`, `idle_timeout`, `malformed`, `provider_error` or `no_terminal`.
        reason: InterruptReason,
    },
    /// A budget stopped the run.
    Budget {
        /// `tokens`, `costUsd` or `timeMs`.
        budget_type: BudgetType,
        /// The limit.
        limit: f64,
        /// What was actually spent.
        spent: f64,
        /// For a call refused before it was sent: the total it would have needed.
        #[serde(skip_serializing_if = "Option::is_none")]
        requested: Option<f64>,
    },
}

/// An event with when and for which run it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Wall-clock time (ms since the Unix epoch).
    pub at: f64,
    /// The run's trace id (absent outside a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The run's request id (absent outside a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Receives events. A sink must not fail a run: whatever it does with an
/// event, its errors stay with it.
pub trait EventSink {
    /// Called once per event, synchronously.
    fn emit(&self, event: &Event);
}
