//! Importing exported breaker state, bounded: an import never displaces a
//! configured provider's breaker, keeps at most [`MAX_EXTRA_BREAKERS`]
//! others, drops provider names longer than [`MAX_PROVIDER_NAME`] bytes, and
//! reports what it dropped in a bounded number of entries.

use serde_json::Value;

use super::breaker::State;
use super::registry::MAX_EXTRA_BREAKERS;
use super::window::FailureWindow;
use super::{BreakerRegistry, BreakerTransition, CircuitBreaker, ImportIgnored, Transition};

/// Longest provider name an import keeps (the bound a JS tool's `provider` has).
pub const MAX_PROVIDER_NAME: usize = 128;

/// At most this many ignored entries are reported one by one; the rest are
/// summed up in one more report.
const MAX_IGNORED_REPORTS: usize = 16;

/// The ignored entries of one import, bounded in number and size.
#[derive(Default)]
struct Ignored {
    reports: Vec<ImportIgnored>,
    more: usize,
}

impl Ignored {
    fn push(&mut self, provider: &str, message: impl Into<String>) {
        if self.reports.len() >= MAX_IGNORED_REPORTS {
            self.more += 1;
            return;
        }
        self.reports.push(ImportIgnored {
            provider: truncated(provider),
            message: message.into(),
        });
    }

    fn finish(mut self) -> Vec<ImportIgnored> {
        if self.more > 0 {
            self.reports.push(ImportIgnored {
                provider: String::new(),
                message: format!("{} more entries ignored", self.more),
            });
        }
        self.reports
    }
}

/// `name` cut to at most [`MAX_PROVIDER_NAME`] bytes (on a char boundary).
fn truncated(name: &str) -> String {
    let mut end = name.len().min(MAX_PROVIDER_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or_default().to_owned()
}

impl BreakerRegistry {
    /// Restores what [`Self::export`] produced (possibly in another isolate).
    /// Returns the transitions made and the entries it could not use.
    pub fn import(&self, state: &Value) -> (Vec<BreakerTransition>, Vec<ImportIgnored>) {
        let mut transitions = Vec::new();
        let mut ignored = Ignored::default();
        let Some(entries) = state.get("breakers").and_then(Value::as_object) else {
            ignored.push("", "expected an object with `breakers`");
            return (transitions, ignored.finish());
        };
        let now = self.clock.now_ms();
        let to_mono = now - self.clock.wall_ms();
        let mut breakers = self.breakers.borrow_mut();
        for (provider, entry) in entries {
            if provider.is_empty() || provider.len() > MAX_PROVIDER_NAME {
                ignored.push(
                    provider,
                    format!("provider name must be 1 to {MAX_PROVIDER_NAME} bytes"),
                );
                continue;
            }
            if !breakers.contains_key(provider) && !self.has_room_for(&breakers, provider) {
                let message = format!("more than {MAX_EXTRA_BREAKERS} providers that are not configured");
                ignored.push(provider, message);
                continue;
            }
            let config = self.configs.for_provider(provider);
            let window_ms = config.window_size * 1000.0;
            let state = match parse_state(entry, to_mono, now, window_ms, config.failure_threshold) {
                Ok(state) => state,
                Err(message) => {
                    ignored.push(provider, message);
                    continue;
                }
            };
            let breaker = breakers
                .entry(provider.clone())
                .or_insert_with(|| CircuitBreaker::new(config));
            let from = breaker.state();
            breaker.state = state;
            breaker.generation = breaker.generation.wrapping_add(1);
            if breaker.state() != from {
                transitions.push(BreakerTransition {
                    provider: provider.clone(),
                    transition: Transition {
                        from,
                        to: breaker.state(),
                        reason: "import",
                    },
                });
            }
        }
        (transitions, ignored.finish())
    }
}

fn parse_state(entry: &Value, to_mono: f64, now: f64, window_ms: f64, threshold: u32) -> Result<State, String> {
    let finite = |v: &Value| v.as_f64().filter(|x| x.is_finite());
    match entry.get("state").and_then(Value::as_str) {
        Some("closed") => {
            let mut failures = FailureWindow::default();
            let list = match entry.get("failures") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(finite)
                    .collect::<Option<Vec<_>>>()
                    .ok_or("`failures` must hold numbers")?,
                Some(_) => return Err("`failures` must be an array".into()),
            };
            for at in list.into_iter().map(|t| t + to_mono).filter(|t| *t <= now) {
                failures.record(at, window_ms, threshold);
            }
            Ok(State::Closed { failures })
        }
        Some("open") => {
            let opened_at = entry
                .get("openedAt")
                .and_then(finite)
                .ok_or("`openedAt` must be a number")?;
            // A time in the future (clock skew between isolates) counts as now.
            Ok(State::Open {
                opened_at: (opened_at + to_mono).min(now),
            })
        }
        Some("half_open") => {
            let successes = entry.get("successes").and_then(Value::as_u64).unwrap_or(0);
            Ok(State::HalfOpen {
                in_flight: 0,
                successes: u32::try_from(successes).unwrap_or(0),
            })
        }
        _ => Err("`state` must be closed, open or half_open".into()),
    }
}
