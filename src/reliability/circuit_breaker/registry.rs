//! One breaker per provider, permits, snapshots, export and import.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::breaker::State;
use super::{BreakerConfigs, CircuitBreaker, CircuitState, Transition};
use crate::platform::Clock;

/// At most this many breakers are kept beyond the configured providers'
/// (those named in `circuitBreakers` and those of registered tools): an
/// imported state could name any number, and must never crowd them out.
pub const MAX_EXTRA_BREAKERS: usize = 64;

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
    pub(super) configs: BreakerConfigs,
    pub(super) clock: Rc<dyn Clock>,
    /// Providers that always get a breaker.
    pub(super) configured: BTreeSet<String>,
    pub(super) breakers: RefCell<BTreeMap<String, CircuitBreaker>>,
}

impl BreakerRegistry {
    /// An empty registry; breakers are created on first use. `providers`
    /// (those of the registered tools) and every provider named in `configs`
    /// always get a breaker; others (from an import) are bounded.
    pub fn new(configs: BreakerConfigs, providers: impl IntoIterator<Item = String>, clock: Rc<dyn Clock>) -> Self {
        let configured = configs.0.keys().cloned().chain(providers).collect();
        Self {
            configs,
            clock,
            configured,
            breakers: RefCell::new(BTreeMap::new()),
        }
    }

    /// Whether `provider` may get a breaker it does not have yet.
    pub(super) fn has_room_for(&self, breakers: &BTreeMap<String, CircuitBreaker>, provider: &str) -> bool {
        self.configured.contains(provider)
            || breakers.keys().filter(|k| !self.configured.contains(*k)).count() < MAX_EXTRA_BREAKERS
    }

    /// Whether `provider`'s breaker refuses calls right now.
    pub fn is_open(&self, provider: &str) -> bool {
        self.is_open_at(provider, self.clock.now_ms())
    }

    /// [`Self::is_open`] at monotonic time `now` (the run machine's input).
    pub fn is_open_at(&self, provider: &str, now: f64) -> bool {
        self.breakers.borrow().get(provider).is_some_and(|b| b.is_open(now))
    }

    /// Asks to call `provider`. `Some(permit)` admits the call; the permit
    /// must be settled with its outcome (dropping it releases a probe slot).
    pub fn acquire(self: &Rc<Self>, provider: &str) -> (Option<Permit>, Option<BreakerTransition>) {
        self.acquire_at(&Rc::from(provider), self.clock.now_ms())
    }

    /// [`Self::acquire`] at monotonic time `now` (the run machine's input).
    pub fn acquire_at(self: &Rc<Self>, provider: &Rc<str>, now: f64) -> (Option<Permit>, Option<BreakerTransition>) {
        let name: &str = provider;
        let mut breakers = self.breakers.borrow_mut();
        let known = breakers.get_mut(name).map(|breaker| breaker.try_acquire(now));
        let admitted = match known {
            Some(admitted) => admitted,
            None if !self.has_room_for(&breakers, name) => {
                // Cannot happen with providers of registered tools; never refuse a call for it.
                return (Some(Permit::untracked(self)), None);
            }
            None => {
                // Only a provider's first call makes its breaker (and allocates its name).
                let mut breaker = CircuitBreaker::new(self.configs.for_provider(name));
                let admitted = breaker.try_acquire(now);
                breakers.insert(name.to_owned(), breaker);
                admitted
            }
        };
        let (admitted, transition) = admitted;
        let transition = transition.map(|transition| BreakerTransition {
            provider: name.to_owned(),
            transition,
        });
        let permit = admitted.ok().map(|generation| Permit {
            registry: Rc::clone(self),
            provider: Some(Rc::clone(provider)),
            generation,
        });
        (permit, transition)
    }

    fn settle(
        &self,
        provider: &str,
        now: f64,
        outcome: impl FnOnce(&mut CircuitBreaker, f64) -> Option<Transition>,
    ) -> Option<BreakerTransition> {
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
}

/// The right to make one call through a breaker.
///
/// Settle it with [`Permit::success`] or [`Permit::failure`]; dropping it
/// unsettled (the call was cancelled) gives a half-open probe slot back.
pub struct Permit {
    registry: Rc<BreakerRegistry>,
    provider: Option<Rc<str>>,
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
    pub fn success(self) -> Option<BreakerTransition> {
        let now = self.registry.clock.now_ms();
        self.success_at(now)
    }

    /// [`Self::success`] at monotonic time `now`.
    pub fn success_at(mut self, now: f64) -> Option<BreakerTransition> {
        let provider = self.provider.take()?;
        let generation = self.generation;
        self.registry.settle(&provider, now, |b, _| b.on_success(generation))
    }

    /// The call failed; `counts` when the failure is the provider's.
    pub fn failure(self, counts: bool) -> Option<BreakerTransition> {
        let now = self.registry.clock.now_ms();
        self.failure_at(counts, now)
    }

    /// [`Self::failure`] at monotonic time `now`.
    pub fn failure_at(mut self, counts: bool, now: f64) -> Option<BreakerTransition> {
        let provider = self.provider.take()?;
        let generation = self.generation;
        self.registry
            .settle(&provider, now, |b, now| b.on_failure(generation, now, counts))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let generation = self.generation;
            // Releasing a probe slot does not depend on the time.
            self.registry.settle(&provider, 0.0, |b, _| {
                b.release(generation);
                None
            });
        }
    }
}
