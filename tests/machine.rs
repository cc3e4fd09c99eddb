//! The run machine on its own: `RunMachine` driven with scripted inputs and
//! a virtual clock it never reads (no executor, futures or tools). Proves
//! each decision with the exact actions and events it answers: admission,
//! retry delays and `Retry-After` hints, fallbacks (exhausted, hint too
//! long, breaker open, no time to wait), non-retryable failures, breaker
//! trips and half-open probes, budget refusals, deadlines, aborts that
//! leave breakers uncharged, usage summed across attempts, and silence
//! when nobody listens; and claiming an idempotency key (`KeyClaim`): every
//! outcome of a read, and the write each store can do.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "machine/breakers.rs"]
mod breakers;
#[path = "machine/keys.rs"]
mod keys;
#[path = "machine/limits.rs"]
mod limits;
#[path = "machine/retries.rs"]
mod retries;

use std::collections::HashMap;
use std::rc::Rc;

use reliable_orchestrator::reliability::{BreakerConfigs, BreakerRegistry, GiveUp, RetryPolicy, Spend};
use reliable_orchestrator::run::{Action, Call, Failed, Limits, Policies, RunMachine, Step, Succeeded};
use reliable_orchestrator::testing::VirtualClock;
use reliable_orchestrator::{BreakerConfig, Budget, BudgetType, CircuitSnapshot, CircuitState, Clock, EventKind};
use reliable_orchestrator::{OrchestratorError, RetryConfig, ToolError, ToolErrorCategory};

const WALL_START: f64 = 1_700_000_000_000.0;

/// The policies of one orchestrator, on a virtual clock.
struct Rig {
    clock: Rc<VirtualClock>,
    breakers: Rc<BreakerRegistry>,
    retry: RetryPolicy,
}

impl Rig {
    fn new(retry: RetryConfig, breaker: BreakerConfig) -> Self {
        let clock = VirtualClock::new(WALL_START);
        let configs = BreakerConfigs(HashMap::from([("default".to_owned(), breaker)]));
        let shared: Rc<dyn Clock> = clock.clone();
        let providers = ["openai".to_owned(), "anthropic".to_owned()];
        let breakers = Rc::new(BreakerRegistry::new(configs, providers, shared));
        let retry = RetryPolicy::new(retry);
        Self { clock, breakers, retry }
    }

    fn p(&self) -> Policies<'_> {
        Policies {
            breakers: &self.breakers,
            retry: &self.retry,
        }
    }

    fn now(&self) -> f64 {
        self.clock.now_ms()
    }

    /// A listening run over `steps` with no budget or limits, starting now.
    fn machine(&self, steps: Vec<Step>) -> RunMachine {
        self.machine_with(steps, Budget::default(), Limits::default())
    }

    fn machine_with(&self, steps: Vec<Step>, budget: Budget, limits: Limits) -> RunMachine {
        RunMachine::new(steps, Spend::new(budget, self.now()), limits, true)
    }

    fn start(&self, m: &mut RunMachine) -> Action {
        m.start(self.p(), self.now())
    }

    /// The call under way failed now (jitter draw 0).
    fn fail(&self, m: &mut RunMachine, error: ToolError) -> Action {
        m.failed(self.p(), self.now(), self.clock.wall_ms(), 0.0, error)
    }

    /// The wait of `ms` ended.
    fn wake(&self, m: &mut RunMachine, ms: f64) -> Action {
        self.clock.advance(ms);
        m.woke(self.p(), self.now())
    }

    fn state(&self, provider: &str) -> CircuitSnapshot {
        self.breakers.states()[provider].clone()
    }
}

/// Exact backoff (no jitter): 1 s, 2 s, 4 s ... capped at 30 s.
fn retry(max_attempts: u32) -> RetryConfig {
    RetryConfig {
        max_attempts,
        jitter: 0.0,
        ..RetryConfig::default()
    }
}

fn breaker(failure_threshold: u32) -> BreakerConfig {
    BreakerConfig {
        failure_threshold,
        ..BreakerConfig::default()
    }
}

/// Exact retries and breakers that never open.
fn rig(max_attempts: u32) -> Rig {
    Rig::new(retry(max_attempts), breaker(100))
}

fn step(tool_name: &str, provider: &str) -> Step {
    Step {
        tool: 0,
        tool_name: tool_name.into(),
        provider: provider.into(),
        rule: None,
        estimate: Default::default(),
    }
}

fn primary() -> Step {
    step("primary", "openai")
}

fn backup() -> Step {
    step("backup", "anthropic")
}

fn down() -> ToolError {
    ToolError::from_status(503, "down")
}

fn call(action: Action) -> Call {
    match action {
        Action::Call(call) => call,
        other => panic!("expected a call, got {other:?}"),
    }
}

fn wait(action: Action) -> f64 {
    match action {
        Action::Wait { delay_ms } => delay_ms,
        other => panic!("expected a wait, got {other:?}"),
    }
}

fn done(action: Action) -> Succeeded {
    match action {
        Action::Done(done) => done,
        other => panic!("expected done, got {other:?}"),
    }
}

fn failure(action: Action) -> Failed {
    match action {
        Action::Fail(failed) => failed,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A `ToolExecution` failure as (tool, calls, category, cause as displayed).
fn tool_failed(action: Action) -> (String, u32, ToolErrorCategory, Option<String>) {
    match failure(action).error {
        OrchestratorError::ToolExecution {
            tool_name,
            attempts,
            category,
            cause,
        } => (tool_name, attempts, category, cause.map(|c| c.to_string())),
        other => panic!("expected tool_failed, got {other:?}"),
    }
}

/// A `BudgetExceeded` failure as (type, limit, spent, requested, keep_output).
fn budget_failed(action: Action) -> (BudgetType, f64, f64, Option<f64>, bool) {
    let failed = failure(action);
    match failed.error {
        OrchestratorError::BudgetExceeded {
            budget_type,
            limit,
            spent,
            requested,
        } => (budget_type, limit, spent, requested, failed.keep_output),
        other => panic!("expected budget_exceeded, got {other:?}"),
    }
}

/// The call a run makes with no limits set.
fn plain_call(step: usize, attempt: u32, calls: u32, has_fallback: bool) -> Call {
    Call {
        step,
        attempt,
        calls,
        timeout_ms: None,
        first_chunk: false,
        fitted_max_tokens: None,
        has_fallback,
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn plan(tool_name: &str, fallbacks: &[&str], skipped: &[&str]) -> EventKind {
    EventKind::Plan {
        tool_name: tool_name.into(),
        fallbacks: names(fallbacks),
        rule: None,
        skipped: names(skipped),
    }
}

fn attempt(tool_name: &str, attempt: u32) -> EventKind {
    EventKind::Attempt {
        tool_name: tool_name.into(),
        attempt,
        fitted_max_tokens: None,
    }
}

fn retried(tool_name: &str, attempt: u32, delay_ms: f64, reason: ToolErrorCategory) -> EventKind {
    EventKind::Retry {
        tool_name: tool_name.into(),
        attempt,
        delay_ms,
        reason,
    }
}

fn fallback(from: &str, to: &str, reason: GiveUp) -> EventKind {
    EventKind::Fallback {
        from: from.into(),
        to: to.into(),
        reason,
    }
}

fn tripped(provider: &str, from: &str, to: &str, reason: &str) -> EventKind {
    EventKind::Breaker {
        provider: provider.into(),
        from: Some(from.into()),
        to: Some(to.into()),
        reason: Some(reason.into()),
        message: None,
    }
}

fn budget_event(budget_type: BudgetType, limit: f64, spent: f64, requested: Option<f64>) -> EventKind {
    EventKind::Budget {
        budget_type,
        limit,
        spent,
        requested,
    }
}
