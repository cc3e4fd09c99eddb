//! Per-provider circuit breakers.
//!
//! A provider that keeps failing is routed around instead of hammered:
//! `failureThreshold` retryable failures within `windowSize` seconds open
//! its breaker; after `timeout` seconds it half-opens and admits up to
//! `halfOpenMaxCalls` probes at once; `successThreshold` successful probes
//! close it (and clear its window), one failed probe re-opens it.
//!
//! Counting failures ([`window`]) is kept apart from the state machine
//! ([`breaker`]); the [`registry`] holds one breaker per provider, hands
//! out [`Permit`]s that release an abandoned probe slot on drop (so a
//! cancelled probe can never leave a breaker stuck half-open), and exports
//! and imports state as plain JSON with wall-clock times.

mod breaker;
mod config;
mod import;
mod registry;
mod window;

pub use breaker::{CircuitBreaker, CircuitState, Transition};
pub use config::{BreakerConfig, BreakerConfigs};
pub use import::MAX_PROVIDER_NAME;
pub use registry::{BreakerRegistry, BreakerTransition, CircuitSnapshot, ImportIgnored, Permit, MAX_EXTRA_BREAKERS};
