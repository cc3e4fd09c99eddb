//! The orchestrator's configuration and a run's options, as read from JSON
//! (or a JS object): camelCase names, the seed's snake_case accepted.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value;

use crate::model::config;
use crate::model::error::OrchestratorError;
use crate::planning::PlannerConfig;
use crate::platform::{AbortSignal, ChunkSink, OnInterrupt, Validator};
use crate::reliability::{BreakerConfigs, Budget, RetryConfig};

/// What to do when the idempotency store fails before the tool runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreFailurePolicy {
    /// Fail the run rather than risk a second execution (default).
    #[default]
    Fail,
    /// Run the tool without idempotency.
    Proceed,
}

/// `reliability`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ReliabilityConfig {
    /// Retries and backoff.
    #[serde(alias = "retry_policy", deserialize_with = "config::object")]
    pub retry_policy: RetryConfig,
    /// Breaker settings by provider (`default` for the rest).
    #[serde(alias = "circuit_breakers", alias = "circuit_breaker_configs")]
    pub circuit_breakers: BreakerConfigs,
    /// Whether `idempotencyKey` is honoured (default true).
    #[serde(alias = "idempotency_enabled")]
    pub idempotency_enabled: bool,
    /// How long completed records are kept, ms (>= 1, default one hour).
    #[serde(alias = "idempotency_ttl_ms", deserialize_with = "config::at_least_one")]
    pub idempotency_ttl_ms: f64,
    /// Whether a reused key with another request is a conflict (default true).
    #[serde(alias = "conflict_detection")]
    pub conflict_detection: bool,
    /// Store failures before the tool runs: `fail` (default) or `proceed`.
    #[serde(alias = "idempotency_store_failure")]
    pub idempotency_store_failure: StoreFailurePolicy,
    /// Default per-attempt timeout for runs, ms.
    #[serde(alias = "attempt_timeout_ms", deserialize_with = "config::opt_positive")]
    pub attempt_timeout_ms: Option<f64>,
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        Self {
            retry_policy: RetryConfig::default(),
            circuit_breakers: BreakerConfigs::default(),
            idempotency_enabled: true,
            idempotency_ttl_ms: 3_600_000.0,
            conflict_detection: true,
            idempotency_store_failure: StoreFailurePolicy::Fail,
            attempt_timeout_ms: None,
        }
    }
}

/// Everything an orchestrator is configured with, besides tools, store and
/// event listener (which are code, not data).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// Rules.
    #[serde(deserialize_with = "config::object")]
    pub planner: PlannerConfig,
    /// Tools tried when no rule matches, and appended as last fallbacks.
    #[serde(alias = "default_tools")]
    pub default_tools: Vec<String>,
    /// Retries, breakers, idempotency.
    #[serde(deserialize_with = "config::object")]
    pub reliability: ReliabilityConfig,
}

impl OrchestratorConfig {
    /// Reads a config from JSON.
    ///
    /// # Errors
    /// `invalid_config` naming the field (for an unknown key, its full path,
    /// with a "did you mean" in the message). `null` members mean "not given".
    pub fn from_json(value: &Value) -> Result<Self, OrchestratorError> {
        config::read_object(value, false)
    }
}

/// Options of one `run()`, for outputs of type `V`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields, bound = "")]
pub struct RunOptions<V = Value> {
    /// Use this tool, with no fallbacks.
    #[serde(alias = "tool_name")]
    pub tool_name: Option<String>,
    /// Options for the tool, merged over the rule's (an object).
    #[serde(alias = "tool_options", deserialize_with = "config::opt_json_object")]
    pub tool_options: Option<Value>,
    /// Make the run idempotent under this key.
    #[serde(alias = "idempotency_key")]
    pub idempotency_key: Option<String>,
    /// Trace id (default: the incoming `traceparent`'s, else the request id).
    #[serde(alias = "trace_id")]
    pub trace_id: Option<String>,
    /// Request id (default: a random UUID).
    #[serde(alias = "request_id")]
    pub request_id: Option<String>,
    /// An incoming W3C `traceparent` header.
    pub traceparent: Option<String>,
    /// Limits for the whole run.
    #[serde(deserialize_with = "config::opt_object")]
    pub budget: Option<Budget>,
    /// Hard deadline for the whole run, ms.
    #[serde(alias = "timeout_ms", deserialize_with = "config::opt_positive")]
    pub timeout_ms: Option<f64>,
    /// Deadline for each attempt, ms (a retryable timeout).
    #[serde(alias = "attempt_timeout_ms", deserialize_with = "config::opt_positive")]
    pub attempt_timeout_ms: Option<f64>,
    /// Streaming runs: the longest wait for a first chunk with text, ms (a
    /// retryable timeout that counts against the breaker).
    #[serde(alias = "first_chunk_timeout_ms", deserialize_with = "config::opt_positive")]
    pub first_chunk_timeout_ms: Option<f64>,
    /// Streaming runs: the longest gap between chunks once text has flowed, ms
    /// (past it the stream is interrupted with `idle_timeout`).
    #[serde(alias = "idle_timeout_ms", deserialize_with = "config::opt_positive")]
    pub idle_timeout_ms: Option<f64>,
    /// Streaming runs: what an interrupted stream does (`fail`, or `continue`
    /// on the plan's next tool).
    #[serde(alias = "on_interrupt")]
    pub on_interrupt: Option<OnInterrupt>,
    /// Aborts the run.
    #[serde(skip)]
    pub signal: Option<AbortSignal>,
    /// Makes the run a streaming run that delivers text here as it arrives.
    #[serde(skip)]
    pub chunks: Option<Rc<dyn ChunkSink>>,
    /// Checks every output before the run accepts it (a rejection is a
    /// retryable `invalid_output`).
    #[serde(skip)]
    pub validate: Option<Rc<dyn Validator<V>>>,
}

impl<V> Default for RunOptions<V> {
    fn default() -> Self {
        Self {
            tool_name: None,
            tool_options: None,
            idempotency_key: None,
            trace_id: None,
            request_id: None,
            traceparent: None,
            budget: None,
            timeout_ms: None,
            attempt_timeout_ms: None,
            first_chunk_timeout_ms: None,
            idle_timeout_ms: None,
            on_interrupt: None,
            signal: None,
            chunks: None,
            validate: None,
        }
    }
}

impl<V> Clone for RunOptions<V> {
    fn clone(&self) -> Self {
        Self {
            tool_options: self.tool_options.clone(),
            idempotency_key: self.idempotency_key.clone(),
            trace_id: self.trace_id.clone(),
            request_id: self.request_id.clone(),
            traceparent: self.traceparent.clone(),
            budget: self.budget,
            timeout_ms: self.timeout_ms,
            attempt_timeout_ms: self.attempt_timeout_ms,
            first_chunk_timeout_ms: self.first_chunk_timeout_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            on_interrupt: self.on_interrupt,
            signal: self.signal.clone(),
            chunks: self.chunks.clone(),
            validate: self.validate.clone(),
            tool_name: self.tool_name.clone(),
        }
    }
}

impl RunOptions {
    /// Reads run options from JSON (for JSON outputs; see
    /// [`RunOptions::from_json_for`]).
    ///
    /// # Errors
    /// As [`RunOptions::from_json_for`].
    pub fn from_json(value: &Value) -> Result<Self, OrchestratorError> {
        Self::from_json_for(value)
    }
}

impl<V> RunOptions<V> {
    /// Reads run options from JSON.
    ///
    /// # Errors
    /// `invalid_request` naming the option (for an unknown key, its full
    /// path, with a "did you mean"). `null` members mean "not given"; the
    /// `signal` and `validate` are not JSON and must be removed first.
    pub fn from_json_for(value: &Value) -> Result<Self, OrchestratorError> {
        let options: Self = config::read_object(value, true)?;
        options.validate_ids()?;
        Ok(options)
    }

    /// Checks `requestId` and `traceId` ([`crate::trace::validate_id`]);
    /// `run()` checks them too, for options built in Rust.
    ///
    /// # Errors
    /// `invalid_request` naming the field.
    pub fn validate_ids(&self) -> Result<(), OrchestratorError> {
        if let Some(id) = &self.request_id {
            crate::trace::validate_id("requestId", id)?;
        }
        if let Some(id) = &self.trace_id {
            crate::trace::validate_id("traceId", id)?;
        }
        Ok(())
    }
}
