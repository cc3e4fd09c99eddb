//! "When to trip": failures counted over a sliding time window.

use std::collections::VecDeque;

/// Monotonic timestamps (ms) of recent counted failures, oldest first.
/// Holds at most `threshold` entries: older ones cannot matter.
#[derive(Clone, Debug, Default)]
pub struct FailureWindow {
    at: VecDeque<f64>,
}

impl FailureWindow {
    /// Records a failure at `now` and reports how many fall within
    /// `window_ms` of it.
    pub fn record(&mut self, now: f64, window_ms: f64, threshold: u32) -> usize {
        self.at.push_back(now);
        self.prune(now, window_ms);
        while self.at.len() > threshold as usize {
            self.at.pop_front();
        }
        self.at.len()
    }

    /// Failures within `window_ms` of `now`.
    pub fn count(&self, now: f64, window_ms: f64) -> usize {
        self.at.iter().filter(|t| now - **t < window_ms).count()
    }

    /// The timestamps kept (for export).
    pub fn timestamps(&self) -> impl Iterator<Item = f64> + '_ {
        self.at.iter().copied()
    }

    fn prune(&mut self, now: f64, window_ms: f64) {
        while self.at.front().is_some_and(|t| now - *t >= window_ms) {
            self.at.pop_front();
        }
    }
}
