//! The states and transitions of one run's attempts: every decision between
//! planning and the result (breaker admission, the budget pre-check, retry
//! or fallback or failure, waits that cannot end in time) is made here and
//! nowhere else.

use std::rc::Rc;

mod outcome;

use super::action::{fail, Action, Call, Limits, Policies, Step};
use super::report::{breaker_event, budget_error, stop_error};
use crate::model::error::{OrchestratorError, ToolError, ToolErrorCategory};
use crate::model::event::EventKind;
use crate::platform::AbortReason;
use crate::reliability::{BreakerTransition, Exceeded, GiveUp, Permit, Spend};

/// One run's attempts, from its plan to its end.
pub struct RunMachine {
    /// Shared with the runs of the same plan.
    steps: Rc<[Step]>,
    /// The steps tried, in order; `None`: every step (no breaker was open),
    /// the common case, which allocates nothing.
    plan: Option<Vec<usize>>,
    skipped: Vec<String>,
    index: usize,
    attempt: u32,
    calls: u32,
    last_error: Option<ToolError>,
    spend: Spend,
    limits: Limits,
    permit: Option<Permit>,
    listening: bool,
    events: Vec<EventKind>,
}

impl RunMachine {
    /// A run over `steps` (in plan order, before breakers are considered).
    /// Events are collected only when `listening`.
    pub fn new(steps: impl Into<Rc<[Step]>>, spend: Spend, limits: Limits, listening: bool) -> Self {
        Self {
            steps: steps.into(),
            plan: Some(Vec::new()),
            skipped: Vec::new(),
            index: 0,
            attempt: 0,
            calls: 0,
            last_error: None,
            spend,
            limits,
            permit: None,
            listening,
            events: Vec::new(),
        }
    }

    /// The candidates the machine was built with.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The run's time limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What the run has spent.
    pub fn spend(&self) -> &Spend {
        &self.spend
    }

    /// What the run has spent, for a driver charging a stream as it arrives.
    pub fn spend_mut(&mut self) -> &mut Spend {
        &mut self.spend
    }

    /// The events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }

    /// Whether events are waiting.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The breaker permit of the call under way, for a stream that settles it
    /// when it ends.
    pub fn take_permit(&mut self) -> Option<Permit> {
        self.permit.take()
    }

    fn emit(&mut self, kind: impl FnOnce() -> EventKind) {
        if self.listening {
            self.events.push(kind());
        }
    }

    fn emit_breaker(&mut self, transition: Option<BreakerTransition>) {
        if let Some(t) = transition {
            self.emit(|| breaker_event(&t));
        }
    }

    fn budget(&mut self, exceeded: Exceeded) -> OrchestratorError {
        let (listening, events) = (self.listening, &mut self.events);
        budget_error(exceeded, &mut |e| {
            if listening {
                events.push(e);
            }
        })
    }

    fn stop(&mut self, reason: AbortReason, now: f64) -> OrchestratorError {
        let (listening, events) = (self.listening, &mut self.events);
        stop_error(reason, self.limits.timeout_ms, &self.spend, now, &mut |e| {
            if listening {
                events.push(e);
            }
        })
    }

    /// The tool being tried (`None` only before a plan, or of an empty one).
    fn current(&self) -> Option<&Step> {
        self.step_id().and_then(|i| self.steps.get(i))
    }

    fn current_name(&self) -> String {
        self.current().map(|s| String::from(&*s.tool_name)).unwrap_or_default()
    }

    /// The candidate index of the current tool.
    fn step_id(&self) -> Option<usize> {
        self.plan_at(self.index)
    }

    /// The candidate index of the `k`-th tool of the plan.
    fn plan_at(&self, k: usize) -> Option<usize> {
        match &self.plan {
            Some(plan) => plan.get(k).copied(),
            None => (k < self.steps.len()).then_some(k),
        }
    }

    fn plan_len(&self) -> usize {
        self.plan.as_ref().map_or(self.steps.len(), Vec::len)
    }

    fn name_of(&self, i: usize) -> String {
        self.steps
            .get(i)
            .map(|s| String::from(&*s.tool_name))
            .unwrap_or_default()
    }

    fn has_fallback(&self) -> bool {
        self.index + 1 < self.plan_len()
    }

    /// Input: the run begins at `now`. Plans around open breakers, then calls.
    pub fn start(&mut self, p: Policies<'_>, now: f64) -> Action {
        // Usually no breaker is open: the plan is every step, and nothing is allocated.
        let open = |s: &Step| p.breakers.is_open_at(&s.provider, now);
        let skipped: Vec<usize> = if self.steps.iter().any(open) {
            let (kept, skipped) = (0..self.steps.len()).partition(|&i| self.steps.get(i).is_some_and(|s| !open(s)));
            self.plan = Some(kept);
            skipped
        } else {
            self.plan = None;
            Vec::new()
        };
        self.skipped = skipped.iter().map(|&i| self.name_of(i)).collect();
        let Some(primary) = self.plan_at(0) else {
            let cause = self.circuit_open_cause(p, now, &skipped);
            return fail(OrchestratorError::ToolExecution {
                tool_name: self.skipped.first().cloned().unwrap_or_default(),
                attempts: 0,
                category: ToolErrorCategory::CircuitOpen,
                cause: Some(Box::new(cause)),
            });
        };
        if self.listening {
            let fallbacks = (1..self.plan_len())
                .filter_map(|k| self.plan_at(k))
                .map(|i| self.name_of(i))
                .collect();
            let tool_name = self.name_of(primary);
            let rule = self.steps.get(primary).and_then(|s| s.rule.clone());
            let skipped = self.skipped.clone();
            self.emit(|| EventKind::Plan {
                tool_name,
                fallbacks,
                rule,
                skipped,
            });
        }
        self.next_call(p, now)
    }

    /// Admits the next call: the current tool, or the ones after it.
    fn next_call(&mut self, p: Policies<'_>, now: f64) -> Action {
        loop {
            let Some(step) = self.current() else {
                return fail(OrchestratorError::NoTool);
            };
            if let Some(model) = step
                .estimate
                .unpriced_model
                .as_ref()
                .filter(|_| self.spend.limits_cost())
            {
                // Spending blind against a cost limit could overrun it: refuse instead.
                return fail(OrchestratorError::config(
                    format!("tools.{}.pricing", step.tool_name),
                    format!(
                        "model `{model}` has no price, so a costUsd budget cannot be enforced; add it to `pricing`"
                    ),
                ));
            }
            if let Err(exceeded) = self.spend.check_call(&step.estimate, now) {
                return fail(self.budget(exceeded));
            }
            let fitted_max_tokens = step.estimate.fit.and_then(|fit| self.spend.fitted_max_tokens(&fit));
            let (permit, transition) = p.breakers.acquire_at(&step.provider, now);
            self.emit_breaker(transition);
            let Some(permit) = permit else {
                if let Some(end) = self.leave(p, now, GiveUp::CircuitOpen) {
                    return end;
                }
                continue;
            };
            self.permit = Some(permit);
            return self.admitted(fitted_max_tokens);
        }
    }

    fn admitted(&mut self, fitted_max_tokens: Option<u64>) -> Action {
        self.attempt += 1;
        self.calls += 1;
        let attempt = self.attempt;
        if self.listening {
            let tool_name = self.current_name();
            self.emit(|| EventKind::Attempt {
                tool_name,
                attempt,
                fitted_max_tokens,
            });
        }
        let (timeout_ms, first_chunk) = match (self.limits.attempt_timeout_ms, self.limits.first_chunk_timeout_ms) {
            (attempt, Some(first)) if attempt.is_none_or(|a| first < a) => (Some(first), true),
            (attempt, _) => (attempt, false),
        };
        Action::Call(Call {
            step: self.step_id().unwrap_or_default(),
            attempt,
            calls: self.calls,
            timeout_ms,
            first_chunk,
            fitted_max_tokens,
            has_fallback: self.has_fallback(),
        })
    }

    /// Leaves the current tool for the next; `Some` ends the run when none is left.
    fn leave(&mut self, p: Policies<'_>, now: f64, reason: GiveUp) -> Option<Action> {
        if self.has_fallback() {
            let from = self.current_name();
            self.index += 1;
            self.attempt = 0;
            let to = self.current_name();
            self.emit(|| EventKind::Fallback { from, to, reason });
            return None;
        }
        // A tool left because its breaker is open reports `circuit_open`,
        // with the last failure seen (if any) as the cause.
        let category = match (reason, &self.last_error) {
            (GiveUp::CircuitOpen, _) | (_, None) => ToolErrorCategory::CircuitOpen,
            (_, Some(cause)) => cause.category,
        };
        let cause = match self.last_error.take() {
            Some(cause) => cause,
            None => {
                let all: Vec<usize> = (0..self.steps.len()).collect();
                self.circuit_open_cause(p, now, &all)
            }
        };
        Some(fail(OrchestratorError::ToolExecution {
            tool_name: self.current_name(),
            attempts: self.calls,
            category,
            cause: Some(Box::new(cause)),
        }))
    }

    /// Why a plan ended with no call made: the providers of `steps` whose
    /// breakers are open (all of them, should none be open any more).
    fn circuit_open_cause(&self, p: Policies<'_>, now: f64, steps: &[usize]) -> ToolError {
        let mut providers: Vec<&str> = steps
            .iter()
            .filter_map(|&i| self.steps.get(i))
            .map(|s| &*s.provider)
            .collect();
        providers.sort_unstable();
        providers.dedup();
        let open: Vec<&str> = providers
            .iter()
            .copied()
            .filter(|p2| p.breakers.is_open_at(p2, now))
            .collect();
        let listed = if open.is_empty() { providers } else { open };
        ToolError::new(
            ToolErrorCategory::CircuitOpen,
            format!("not called: the circuit breaker is open for {}", listed.join(", ")),
        )
    }
}
