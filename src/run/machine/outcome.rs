//! The machine's inputs after a call or a wait: what a success, a failure,
//! the end of a wait or a stop leads to (retry, fallback, or the end).

use super::super::action::{fail, Action, Failed, Policies, Succeeded};
use super::RunMachine;
use crate::model::error::{OrchestratorError, ToolError, ToolErrorCategory};
use crate::model::event::EventKind;
use crate::platform::{AbortReason, Usage};
use crate::reliability::{CircuitState, GiveUp, RetryDecision};

impl RunMachine {
    /// Input: the call succeeded at `now`, reporting `usage` and `cost_usd`.
    pub fn succeeded(&mut self, now: f64, usage: Option<Usage>, cost_usd: Option<f64>) -> Action {
        let transition = self.permit.take().and_then(|permit| permit.success_at(now));
        self.emit_breaker(transition);
        if let Err(exceeded) = self.spend.charge(usage, cost_usd) {
            return Action::Fail(Failed {
                error: self.budget(exceeded),
                keep_output: true,
            });
        }
        Action::Done(Succeeded {
            step: self.step_id().unwrap_or_default(),
            attempts: self.calls,
            usage: self.spend.usage(),
            cost_usd: self.spend.cost_usd(),
        })
    }

    /// Input: the call failed with `error` at `now` (`wall_now` resolves
    /// HTTP-date hints; `unit` is a random draw in `[0, 1)` for jitter).
    pub fn failed(&mut self, p: Policies<'_>, now: f64, wall_now: f64, unit: f64, mut error: ToolError) -> Action {
        let transition = self
            .permit
            .take()
            .and_then(|permit| permit.failure_at(error.counts_against_provider(), now));
        let opened = transition
            .as_ref()
            .is_some_and(|t| t.transition.to == CircuitState::Open);
        self.emit_breaker(transition);
        if let Err(exceeded) = self.spend.charge(error.usage, error.cost_usd) {
            return fail(self.budget(exceeded));
        }
        if let Some(exceeded) = error.budget_exceeded.take() {
            return fail(self.budget(*exceeded));
        }
        let decision = match p.retry.decide(self.attempt, &error, wall_now, unit) {
            // This failure opened the breaker, or another run's did: a wait for a retry
            // the breaker would refuse helps nobody, so go to the fallback now.
            RetryDecision::Retry { .. }
                if opened
                    || (self.has_fallback()
                        && self.current().is_some_and(|s| p.breakers.is_open_at(&s.provider, now))) =>
            {
                RetryDecision::GiveUp(GiveUp::CircuitOpen)
            }
            decision => decision,
        };
        let category = error.category;
        self.last_error = Some(error);
        match decision {
            RetryDecision::Fail => fail(OrchestratorError::ToolExecution {
                tool_name: self.current_name(),
                attempts: self.calls,
                category,
                cause: self.last_error.clone().map(Box::new),
            }),
            RetryDecision::GiveUp(reason) => self.left(p, now, reason),
            RetryDecision::Retry { delay_ms, .. } => self.wait(p, now, delay_ms, category),
        }
    }

    /// A retry after `delay_ms`, unless the wait cannot end in time.
    fn wait(&mut self, p: Policies<'_>, now: f64, delay_ms: f64, category: ToolErrorCategory) -> Action {
        if let Some(deadline) = self.limits.deadline.filter(|d| now + delay_ms >= d.at) {
            if self.has_fallback() {
                return self.left(p, now, GiveUp::NoTimeToWait);
            }
            return fail(self.stop(deadline.reason, now));
        }
        if let Err(exceeded) = self.spend.check_wait(delay_ms, now) {
            if self.has_fallback() {
                return self.left(p, now, GiveUp::NoTimeToWait);
            }
            return fail(self.budget(exceeded));
        }
        let (tool_name, attempt) = (self.current_name(), self.attempt);
        self.emit(|| EventKind::Retry {
            tool_name,
            attempt,
            delay_ms,
            reason: category,
        });
        Action::Wait { delay_ms }
    }

    /// Input: the current tool is left for `reason` (a driver's stream broke
    /// after it began, with `onInterrupt: "continue"`); the next one is called.
    pub fn left(&mut self, p: Policies<'_>, now: f64, reason: GiveUp) -> Action {
        match self.leave(p, now, reason) {
            Some(end) => end,
            None => self.next_call(p, now),
        }
    }

    /// Input: the wait ended at `now`.
    pub fn woke(&mut self, p: Policies<'_>, now: f64) -> Action {
        self.next_call(p, now)
    }

    /// Input: the run stopped at `now` for `reason` (its signal, deadline or
    /// time budget). A call under way leaves its breaker unsettled: not the
    /// provider's fault.
    pub fn stopped(&mut self, now: f64, reason: AbortReason) -> Action {
        self.permit = None;
        fail(self.stop(reason, now))
    }
}
