//! One breaker per provider, permits, snapshots, export and import.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::breaker::State;
use super::window::FailureWindow;
use super::{BreakerConfigs, CircuitBreaker, CircuitState, Transition};
use crate::platform::Clock;

/// At most this many breakers are kept: provider names come from the
/// registered tools, but an imported state could name any number.
const MAX_BREAKERS: usize = 1024;

/// A transition with the provider it happened to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerTransition {
    /// The provider.
    pub provider: String,
    /// What changed.
    pub transition: Transition,
}

/// An entry of an imported state that was not applied, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportIgnored {
    /// The provider named (empty when the whole state was unreadable).
    pub provider: String,
    /// What was wrong with it.
    pub message: String,
}

/// What `circuitStates()` reports for one provider.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitSnapshot {
    /// The state a call now would meet.
    pub state: CircuitState,
    /// Counted failures within the window.
    pub failures: usize,
    /// Failures that open the breaker.
    pub failure_threshold: u32,
    /// When it opened (wall ms), if open.
    pub opened_at: Option<f64>,
    /// When it half-opens (wall ms), if open.
    pub half_open_at: Option<f64>,
    /// Probes in flight, if half-open.
    pub probes_in_flight: u32,
    /// Successful probes so far, if half-open.
    pub successes: u32,
}

/// The breakers of one orchestrator.
pub struct BreakerRegistry {
    configs: BreakerConfigs,
    clock: Rc<dyn Clock>,
    breakers: RefCell<BTreeMap<String, CircuitBreaker>>,
}

impl BreakerRegistry {
    /// An empty registry; breakers are created on first use.
    pub fn new(configs: BreakerConfigs, clock: Rc<dyn Clock>) -> Self {
        Self {
            configs,
            clock,
            breakers: RefCell::new(BTreeMap::new()),
        }
    }

    /// Whether `provider`'s breaker refuses calls right now.
    pub fn is_open(&self, provider: &str) -> bool {
        let now = self.clock.now_ms();
        self.breakers.borrow().get(provider).is_some_and(|b| b.is_open(now))
    }

    /// Asks to call `provider`. `Some(permit)` admits the call; the permit
    /// must be settled with its outcome (dropping it releases a probe slot).
    pub fn acquire(self: &Rc<Self>, provider: &str) -> (Option<Permit>, Option<BreakerTransition>) {
        let now = self.clock.now_ms();
        let mut breakers = self.breakers.borrow_mut();
        if !breakers.contains_key(provider) && breakers.len() >= MAX_BREAKERS {
            // Cannot happen with providers from config; never refuse a call for it.
            return (Some(Permit::untracked(self)), None);
        }
        let breaker = breakers
            .entry(provider.to_owned())
            .or_insert_with(|| CircuitBreaker::new(self.configs.for_provider(provider)));
        let (admitted, transition) = breaker.try_acquire(now);
        let transition = transition.map(|transition| BreakerTransition {
            provider: provider.to_owned(),
            transition,
        });
        let permit = admitted.ok().map(|generation| Permit {
            registry: Rc::clone(self),
            provider: Some(provider.to_owned()),
            generation,
        });
        (permit, transition)
    }

    fn settle(
        &self,
        provider: &str,
        outcome: impl FnOnce(&mut CircuitBreaker, f64) -> Option<Transition>,
    ) -> Option<BreakerTransition> {
        let now = self.clock.now_ms();
        let mut breakers = self.breakers.borrow_mut();
        let breaker = breakers.get_mut(provider)?;
        outcome(breaker, now).map(|transition| BreakerTransition {
            provider: provider.to_owned(),
            transition,
        })
    }

    /// Every provider's breaker as a call now would meet it.
    pub fn states(&self) -> BTreeMap<String, CircuitSnapshot> {
        let now = self.clock.now_ms();
        let to_wall = self.clock.wall_ms() - now;
        self.breakers
            .borrow()
            .iter()
            .map(|(name, b)| {
                let (opened_at, probes, successes) = match b.state {
                    State::Open { opened_at } => (Some(opened_at), 0, 0),
                    State::HalfOpen { in_flight, successes } => (None, in_flight, successes),
                    State::Closed { .. } => (None, 0, 0),
                };
                let snapshot = CircuitSnapshot {
                    state: b.effective_state(now),
                    failures: b.failures(now),
                    failure_threshold: b.config.failure_threshold,
                    opened_at: opened_at.map(|t| t + to_wall),
                    half_open_at: opened_at.map(|t| t + b.timeout_ms() + to_wall),
                    probes_in_flight: probes,
                    successes,
                };
                (name.clone(), snapshot)
            })
            .collect()
    }

    /// The breakers as plain JSON with wall-clock times, for a host to persist:
    /// `{ version: 1, breakers: { <provider>: { state, openedAt?, failures: [ms], successes } } }`.
    pub fn export(&self) -> Value {
        let to_wall = self.clock.wall_ms() - self.clock.now_ms();
        let breakers: Map<String, Value> = self
            .breakers
            .borrow()
            .iter()
            .map(|(name, b)| {
                let entry = match &b.state {
                    State::Closed { failures } => json!({
                        "state": "closed",
                        "failures": failures.timestamps().map(|t| t + to_wall).collect::<Vec<_>>(),
                    }),
                    State::Open { opened_at } => {
                        json!({ "state": "open", "openedAt": opened_at + to_wall })
                    }
                    State::HalfOpen { successes, .. } => {
                        json!({ "state": "half_open", "successes": successes })
                    }
                };
                (name.clone(), entry)
            })
            .collect();
        json!({ "version": 1, "breakers": breakers })
    }

    /// Restores what [`Self::export`] produced (possibly in another isolate).
    /// Returns the transitions made and the entries it could not use.
    pub fn import(&self, state: &Value) -> (Vec<BreakerTransition>, Vec<ImportIgnored>) {
        let mut transitions = Vec::new();
        let mut ignored = Vec::new();
        let Some(entries) = state.get("breakers").and_then(Value::as_object) else {
            ignored.push(ImportIgnored {
                provider: String::new(),
                message: "expected an object with `breakers`".into(),
            });
            return (transitions, ignored);
        };
        let now = self.clock.now_ms();
        let to_mono = now - self.clock.wall_ms();
        let mut breakers = self.breakers.borrow_mut();
        for (provider, entry) in entries {
            if !breakers.contains_key(provider) && breakers.len() >= MAX_BREAKERS {
                ignored.push(ImportIgnored {
                    provider: provider.clone(),
                    message: "too many breakers".into(),
                });
                continue;
            }
            let config = self.configs.for_provider(provider);
            let window_ms = config.window_size * 1000.0;
            let state = match parse_state(entry, to_mono, now, window_ms, config.failure_threshold) {
                Ok(state) => state,
                Err(message) => {
                    ignored.push(ImportIgnored {
                        provider: provider.clone(),
                        message,
                    });
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
        (transitions, ignored)
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

/// The right to make one call through a breaker.
///
/// Settle it with [`Permit::success`] or [`Permit::failure`]; dropping it
/// unsettled (the call was cancelled) gives a half-open probe slot back.
pub struct Permit {
    registry: Rc<BreakerRegistry>,
    provider: Option<String>,
    generation: u64,
}

impl Permit {
    fn untracked(registry: &Rc<BreakerRegistry>) -> Self {
        Self {
            registry: Rc::clone(registry),
            provider: None,
            generation: 0,
        }
    }

    /// The call succeeded.
    pub fn success(mut self) -> Option<BreakerTransition> {
        let provider = self.provider.take()?;
        let generation = self.generation;
        self.registry.settle(&provider, |b, _| b.on_success(generation))
    }

    /// The call failed; `counts` when the failure is the provider's.
    pub fn failure(mut self, counts: bool) -> Option<BreakerTransition> {
        let provider = self.provider.take()?;
        let generation = self.generation;
        self.registry
            .settle(&provider, |b, now| b.on_failure(generation, now, counts))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let generation = self.generation;
            self.registry.settle(&provider, |b, _| {
                b.release(generation);
                None
            });
        }
    }
}
