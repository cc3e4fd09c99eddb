//! The Closed / Open / HalfOpen state machine for one provider.

use serde::Serialize;

use super::window::FailureWindow;
use super::BreakerConfig;

/// A breaker's observable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow; failures are counted.
    Closed,
    /// Calls are refused until the timeout passes.
    Open,
    /// A bounded number of probe calls decide whether to close again.
    HalfOpen,
}

impl CircuitState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A state change, for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: CircuitState,
    /// State after.
    pub to: CircuitState,
    /// Why: `failure_threshold`, `timeout_elapsed`, `probe_succeeded`, `probe_failed`.
    pub reason: &'static str,
}

/// Each state with its own data.
#[derive(Clone, Debug)]
pub(super) enum State {
    Closed { failures: FailureWindow },
    Open { opened_at: f64 },
    HalfOpen { in_flight: u32, successes: u32 },
}

/// One provider's breaker. Times are monotonic milliseconds.
///
/// Every admission is tagged with the breaker's generation, which changes
/// on each transition: an outcome that arrives after the state moved on
/// (a slow call admitted before the breaker opened) cannot disturb it.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    pub(super) config: BreakerConfig,
    pub(super) state: State,
    pub(super) generation: u64,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: State::Closed {
                failures: FailureWindow::default(),
            },
            generation: 0,
        }
    }

    /// The stored state (an open breaker whose timeout passed still says
    /// `Open` until the next call half-opens it; see [`Self::effective_state`]).
    pub fn state(&self) -> CircuitState {
        match self.state {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { .. } => CircuitState::Open,
            State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// The state a call made at `now` would meet.
    pub fn effective_state(&self, now: f64) -> CircuitState {
        match self.state {
            State::Open { opened_at } if now - opened_at >= self.timeout_ms() => CircuitState::HalfOpen,
            _ => self.state(),
        }
    }

    /// Whether a call at `now` is refused because the breaker is open.
    pub fn is_open(&self, now: f64) -> bool {
        self.effective_state(now) == CircuitState::Open
    }

    pub(super) fn timeout_ms(&self) -> f64 {
        self.config.timeout * 1000.0
    }

    pub(super) fn window_ms(&self) -> f64 {
        self.config.window_size * 1000.0
    }

    fn move_to(&mut self, state: State, reason: &'static str) -> Transition {
        let from = self.state();
        self.state = state;
        self.generation = self.generation.wrapping_add(1);
        Transition {
            from,
            to: self.state(),
            reason,
        }
    }

    /// Asks to make a call at `now`. `Ok(generation)` admits it (and, when
    /// half-open, takes a probe slot); `Err(())` refuses it. A transition
    /// (open -> half-open) may happen on the way.
    pub fn try_acquire(&mut self, now: f64) -> (Result<u64, ()>, Option<Transition>) {
        let mut transition = None;
        if let State::Open { opened_at } = self.state {
            if now - opened_at < self.timeout_ms() {
                return (Err(()), None);
            }
            transition = Some(self.move_to(
                State::HalfOpen {
                    in_flight: 0,
                    successes: 0,
                },
                "timeout_elapsed",
            ));
        }
        let max_probes = self.config.half_open_max_calls;
        let admitted = match &mut self.state {
            State::Closed { .. } => true,
            State::Open { .. } => false,
            State::HalfOpen { in_flight, .. } if *in_flight < max_probes => {
                *in_flight += 1;
                true
            }
            State::HalfOpen { .. } => false,
        };
        (admitted.then_some(self.generation).ok_or(()), transition)
    }

    /// A call admitted under `generation` succeeded.
    pub fn on_success(&mut self, generation: u64) -> Option<Transition> {
        if generation != self.generation {
            return None;
        }
        let threshold = self.config.success_threshold;
        if let State::HalfOpen { in_flight, successes } = &mut self.state {
            *in_flight = in_flight.saturating_sub(1);
            *successes += 1;
            if *successes >= threshold {
                return Some(self.move_to(
                    State::Closed {
                        failures: FailureWindow::default(),
                    },
                    "probe_succeeded",
                ));
            }
        }
        None
    }

    /// A call admitted under `generation` failed at `now`; `counts` says
    /// whether the failure is the provider's (retryable) or the request's.
    pub fn on_failure(&mut self, generation: u64, now: f64, counts: bool) -> Option<Transition> {
        if generation != self.generation {
            return None;
        }
        let (window_ms, threshold) = (self.window_ms(), self.config.failure_threshold);
        match &mut self.state {
            State::Closed { failures } if counts => {
                if failures.record(now, window_ms, threshold) >= threshold as usize {
                    return Some(self.move_to(State::Open { opened_at: now }, "failure_threshold"));
                }
                None
            }
            State::HalfOpen { .. } if counts => Some(self.move_to(State::Open { opened_at: now }, "probe_failed")),
            State::HalfOpen { in_flight, .. } => {
                *in_flight = in_flight.saturating_sub(1);
                None
            }
            _ => None,
        }
    }

    /// A call admitted under `generation` ended without an outcome (it was
    /// cancelled): give its probe slot back.
    pub fn release(&mut self, generation: u64) {
        if generation != self.generation {
            return;
        }
        if let State::HalfOpen { in_flight, .. } = &mut self.state {
            *in_flight = in_flight.saturating_sub(1);
        }
    }

    /// Counted failures within the window at `now` (0 unless closed).
    pub fn failures(&self, now: f64) -> usize {
        match &self.state {
            State::Closed { failures } => failures.count(now, self.window_ms()),
            _ => 0,
        }
    }
}

// Property tests need proptest, which is not built for wasm32.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn breaker(threshold: u32, probes: u32, successes: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: threshold,
            timeout: 60.0,
            window_size: 10.0,
            half_open_max_calls: probes,
            success_threshold: successes,
        })
    }

    fn fail(b: &mut CircuitBreaker, now: f64) -> Option<Transition> {
        let (g, _) = b.try_acquire(now);
        b.on_failure(g.unwrap(), now, true)
    }

    #[test]
    fn opens_at_threshold_within_window_only() {
        let mut b = breaker(3, 1, 1);
        fail(&mut b, 0.0);
        fail(&mut b, 5_000.0);
        // The first failure is 10 s old by now: only two remain in the window.
        assert_eq!(fail(&mut b, 10_000.0), None);
        assert_eq!(b.state(), CircuitState::Closed);
        let t = fail(&mut b, 11_000.0).unwrap();
        assert_eq!(
            (t.from, t.to, t.reason),
            (CircuitState::Closed, CircuitState::Open, "failure_threshold")
        );
    }

    #[test]
    fn client_errors_do_not_count() {
        let mut b = breaker(1, 1, 1);
        let (g, _) = b.try_acquire(0.0);
        assert_eq!(b.on_failure(g.unwrap(), 0.0, false), None);
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[test]
    fn half_open_bounds_probes_and_needs_enough_successes() {
        let mut b = breaker(1, 2, 2);
        fail(&mut b, 0.0);
        assert!(b.try_acquire(59_999.0).0.is_err());
        let (p1, t) = b.try_acquire(60_000.0);
        assert_eq!(t.unwrap().to, CircuitState::HalfOpen);
        let (p2, _) = b.try_acquire(60_000.0);
        assert!(b.try_acquire(60_000.0).0.is_err(), "third probe while two in flight");
        assert_eq!(b.on_success(p1.unwrap()), None);
        let (p3, _) = b.try_acquire(60_001.0);
        assert!(p3.is_ok(), "a success frees a slot");
        let closed = b.on_success(p2.unwrap()).unwrap();
        assert_eq!((closed.to, closed.reason), (CircuitState::Closed, "probe_succeeded"));
        // A probe from the half-open generation finishing late changes nothing.
        assert_eq!(b.on_failure(p3.unwrap(), 60_002.0, true), None);
        assert_eq!(b.state(), CircuitState::Closed);
        assert_eq!(b.failures(60_002.0), 0);
    }

    #[test]
    fn probe_failure_reopens_and_released_probe_frees_slot() {
        let mut b = breaker(1, 1, 1);
        fail(&mut b, 0.0);
        let (p, _) = b.try_acquire(60_000.0);
        b.release(p.unwrap());
        let (p, _) = b.try_acquire(60_000.0);
        let t = b.on_failure(p.unwrap(), 60_500.0, true).unwrap();
        assert_eq!(
            (t.from, t.to, t.reason),
            (CircuitState::HalfOpen, CircuitState::Open, "probe_failed")
        );
        assert!(b.try_acquire(120_499.0).0.is_err());
        assert!(b.try_acquire(120_500.0).0.is_ok());
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config(256))]
        /// Whatever happens, nothing is admitted while open before the timeout,
        /// and no more than `half_open_max_calls` probes are ever in flight.
        #[test]
        fn admits_nothing_while_open(
            ops in proptest::collection::vec((0u8..4, 0.0f64..30_000.0), 1..200),
            threshold in 1u32..5, probes in 1u32..4,
        ) {
            let mut b = breaker(threshold, probes, 2);
            let mut now = 0.0;
            let mut held: Vec<u64> = Vec::new();
            for (op, dt) in ops {
                now += dt;
                let was_open_at = match b.state { State::Open { opened_at } => Some(opened_at), _ => None };
                match op {
                    0 => {
                        let (admitted, _) = b.try_acquire(now);
                        if let Some(opened) = was_open_at {
                            if now - opened < 60_000.0 { prop_assert!(admitted.is_err()); }
                        }
                        if let Ok(g) = admitted { held.push(g); }
                        if let State::HalfOpen { in_flight, .. } = b.state { prop_assert!(in_flight <= probes); }
                    }
                    1 => if let Some(g) = held.pop() { b.on_success(g); },
                    2 => if let Some(g) = held.pop() { b.on_failure(g, now, true); },
                    _ => if let Some(g) = held.pop() { b.release(g); },
                }
            }
        }
    }
}
