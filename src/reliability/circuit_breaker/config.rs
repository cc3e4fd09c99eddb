//! Breaker settings, per provider with a `default` entry.

use std::collections::HashMap;

use serde::Deserialize;

use crate::model::config;

/// One provider's breaker settings (`reliability.circuitBreakers.<provider>`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Retryable failures within the window that open the breaker (default 5).
    #[serde(alias = "failure_threshold", deserialize_with = "config::count")]
    pub failure_threshold: u32,
    /// Seconds an open breaker waits before half-opening (default 60).
    #[serde(deserialize_with = "config::positive")]
    pub timeout: f64,
    /// Seconds of failures that count toward the threshold (default 60).
    #[serde(alias = "window_size", deserialize_with = "config::positive")]
    pub window_size: f64,
    /// Probes in flight at once while half-open (default 1).
    #[serde(alias = "half_open_max_calls", deserialize_with = "config::count")]
    pub half_open_max_calls: u32,
    /// Successful probes that close the breaker (default 1).
    #[serde(alias = "success_threshold", deserialize_with = "config::count")]
    pub success_threshold: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            timeout: 60.0,
            window_size: 60.0,
            half_open_max_calls: 1,
            success_threshold: 1,
        }
    }
}

/// `reliability.circuitBreakers`: settings by provider name; the entry
/// `default` applies to every provider not listed. Each entry must be an object.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "HashMap<String, config::Object<BreakerConfig>>")]
pub struct BreakerConfigs(pub HashMap<String, BreakerConfig>);

impl From<HashMap<String, config::Object<BreakerConfig>>> for BreakerConfigs {
    fn from(map: HashMap<String, config::Object<BreakerConfig>>) -> Self {
        Self(map.into_iter().map(|(name, config)| (name, config.0)).collect())
    }
}

impl BreakerConfigs {
    /// The settings `provider` runs with.
    pub fn for_provider(&self, provider: &str) -> BreakerConfig {
        self.0
            .get(provider)
            .or_else(|| self.0.get("default"))
            .cloned()
            .unwrap_or_default()
    }
}
