//! The retry policy: given a failed attempt, retry after a delay, leave the
//! tool for its fallback, or fail the run.

use serde::Deserialize;

use super::backoff;
use crate::model::config;
use crate::model::error::{OrchestratorError, ToolError};
use crate::model::reasons::GiveUp;

/// `reliability.retryPolicy`. Delays are in seconds, as in the seed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Calls per tool, the first included (1..=100, default 3).
    #[serde(alias = "max_attempts", deserialize_with = "config::attempts")]
    pub max_attempts: u32,
    /// Delay before the first retry, seconds (default 1).
    #[serde(alias = "initial_delay", deserialize_with = "config::non_negative")]
    pub initial_delay: f64,
    /// Cap on any wait, seconds (default 30).
    #[serde(alias = "max_delay", deserialize_with = "config::non_negative")]
    pub max_delay: f64,
    /// Growth per retry (>= 1, default 2).
    #[serde(alias = "backoff_factor", deserialize_with = "config::at_least_one")]
    pub backoff_factor: f64,
    /// Honour `Retry-After` / `retry-after-ms` hints (default true).
    #[serde(alias = "respect_retry_after")]
    pub respect_retry_after: bool,
    /// Largest fraction a wait is shortened by at random (0..=1, default 0.1).
    #[serde(deserialize_with = "config::unit_interval")]
    pub jitter: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay: 1.0,
            max_delay: 30.0,
            backoff_factor: 2.0,
            respect_retry_after: true,
            jitter: 0.1,
        }
    }
}

impl RetryConfig {
    /// Checks what single fields cannot: `maxDelay >= initialDelay`.
    ///
    /// # Errors
    /// `invalid_config` naming `{prefix}.maxDelay`.
    pub fn validate(&self, prefix: &str) -> Result<(), OrchestratorError> {
        if self.max_delay < self.initial_delay {
            return Err(OrchestratorError::config(
                format!("{prefix}.maxDelay"),
                format!(
                    "must be >= initialDelay ({}), got {}",
                    self.initial_delay, self.max_delay
                ),
            ));
        }
        Ok(())
    }

    /// The cap on waits in milliseconds.
    pub fn max_delay_ms(&self) -> f64 {
        self.max_delay * 1000.0
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RetryDecision {
    /// Call the same tool again after this many ms.
    Retry {
        /// The wait.
        delay_ms: f64,
        /// Whether the wait came from the server's hint.
        from_hint: bool,
    },
    /// Leave this tool; the plan's next one runs.
    GiveUp(GiveUp),
    /// The failure is the request's fault: the run ends now.
    Fail,
}

/// A validated [`RetryConfig`] turned into decisions.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    config: RetryConfig,
}

impl RetryPolicy {
    /// A policy from a (validated) config.
    pub fn new(config: RetryConfig) -> Self {
        Self { config }
    }

    /// The config this policy follows.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// Decides after attempt number `attempt` (1-based) of one tool failed
    /// with `error`. `wall_now_ms` resolves HTTP-date hints; `unit` is a
    /// random draw in `[0, 1)` for jitter.
    pub fn decide(&self, attempt: u32, error: &ToolError, wall_now_ms: f64, unit: f64) -> RetryDecision {
        if !error.retryable {
            return RetryDecision::Fail;
        }
        if attempt >= self.config.max_attempts {
            return RetryDecision::GiveUp(GiveUp::Exhausted);
        }
        let max_ms = self.config.max_delay_ms();
        if self.config.respect_retry_after {
            if let Some(hint) = error.retry_hint {
                let wait = hint.delay_ms(wall_now_ms);
                if wait > max_ms {
                    return RetryDecision::GiveUp(GiveUp::RetryAfterTooLong(wait));
                }
                return RetryDecision::Retry {
                    delay_ms: wait,
                    from_hint: true,
                };
            }
        }
        let delay_ms = backoff::delay_ms(
            self.config.initial_delay * 1000.0,
            max_ms,
            self.config.backoff_factor,
            self.config.jitter,
            attempt,
            unit,
        );
        RetryDecision::Retry {
            delay_ms,
            from_hint: false,
        }
    }
}

// Property tests need proptest, which is not built for wasm32.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::reliability::RetryHint;
    use proptest::prelude::*;

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::new(RetryConfig {
            max_attempts,
            jitter: 0.0,
            ..RetryConfig::default()
        })
    }

    #[test]
    fn non_retryable_fails_at_once() {
        for status in [400, 401, 403, 404, 409, 422] {
            let e = ToolError::from_status(status, "bad");
            assert_eq!(policy(3).decide(1, &e, 0.0, 0.0), RetryDecision::Fail, "{status}");
        }
    }

    #[test]
    fn retryable_until_exhausted() {
        for status in [429, 408, 500, 502, 503, 504] {
            let e = ToolError::from_status(status, "x");
            assert_eq!(
                policy(3).decide(1, &e, 0.0, 0.0),
                RetryDecision::Retry {
                    delay_ms: 1000.0,
                    from_hint: false
                }
            );
            assert_eq!(
                policy(3).decide(2, &e, 0.0, 0.0),
                RetryDecision::Retry {
                    delay_ms: 2000.0,
                    from_hint: false
                }
            );
            assert_eq!(
                policy(3).decide(3, &e, 0.0, 0.0),
                RetryDecision::GiveUp(GiveUp::Exhausted)
            );
        }
    }

    #[test]
    fn hint_replaces_delay_up_to_the_cap() {
        let e = ToolError::from_status(429, "slow down").with_retry_hint(Some(RetryHint::DelayMs(5000.0)));
        assert_eq!(
            policy(3).decide(1, &e, 0.0, 0.0),
            RetryDecision::Retry {
                delay_ms: 5000.0,
                from_hint: true
            }
        );
        let long = ToolError::from_status(429, "later").with_retry_hint(Some(RetryHint::DelayMs(31_000.0)));
        assert_eq!(
            policy(3).decide(1, &long, 0.0, 0.0),
            RetryDecision::GiveUp(GiveUp::RetryAfterTooLong(31_000.0))
        );
        let ignoring = RetryPolicy::new(RetryConfig {
            respect_retry_after: false,
            jitter: 0.0,
            ..RetryConfig::default()
        });
        assert_eq!(
            ignoring.decide(1, &long, 0.0, 0.0),
            RetryDecision::Retry {
                delay_ms: 1000.0,
                from_hint: false
            }
        );
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config(256))]
        #[test]
        fn calls_never_exceed_max_attempts(max in 1u32..=100, hint in proptest::option::of(0.0f64..60_000.0)) {
            let p = RetryPolicy::new(RetryConfig { max_attempts: max, ..RetryConfig::default() });
            let e = ToolError::from_status(503, "x").with_retry_hint(hint.map(RetryHint::DelayMs));
            let mut calls = 1;
            while let RetryDecision::Retry { delay_ms, .. } = p.decide(calls, &e, 0.0, 0.5) {
                prop_assert!(delay_ms <= p.config().max_delay_ms());
                calls += 1;
            }
            prop_assert!(calls <= max);
        }
    }
}
