//! Budgets: limits on tokens, cost and time for a whole run, retries and
//! fallbacks included. Checked before every call and wait ([`Spend::check_call`],
//! [`Spend::check_wait`]) and after every reported usage ([`Spend::charge`]).

use serde::Deserialize;

use super::usage::{TokenFit, ToolEstimate, Usage};
use crate::model::config;

/// Which budget stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetType {
    /// `budget.tokens`.
    Tokens,
    /// `budget.costUsd`.
    CostUsd,
    /// `budget.timeMs`.
    TimeMs,
}

impl BudgetType {
    /// `tokens`, `costUsd` or `timeMs`, as in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tokens => "tokens",
            Self::CostUsd => "costUsd",
            Self::TimeMs => "timeMs",
        }
    }
}

/// The run option `budget`. Every limit is optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Budget {
    /// Total tokens.
    #[serde(deserialize_with = "config::opt_non_negative")]
    pub tokens: Option<f64>,
    /// Total cost in US dollars.
    #[serde(alias = "cost_usd", deserialize_with = "config::opt_non_negative")]
    pub cost_usd: Option<f64>,
    /// Total wall time of the run in milliseconds.
    #[serde(alias = "time_ms", deserialize_with = "config::opt_non_negative")]
    pub time_ms: Option<f64>,
}

/// A budget that was (or would be) exceeded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exceeded {
    /// Which budget.
    pub budget_type: BudgetType,
    /// Its limit.
    pub limit: f64,
    /// What was actually spent.
    pub spent: f64,
    /// For a call or wait refused before it started: the total it would
    /// have needed (`spent` plus its estimate).
    pub requested: Option<f64>,
}

/// What one run has spent against its [`Budget`].
#[derive(Clone, Debug)]
pub struct Spend {
    budget: Budget,
    started_at: f64,
    usage: Usage,
    cost_usd: Option<f64>,
}

impl Spend {
    /// Starts spending at monotonic time `now`.
    pub fn new(budget: Budget, now: f64) -> Self {
        Self {
            budget,
            started_at: now,
            usage: Usage::default(),
            cost_usd: None,
        }
    }

    /// Tokens used so far, across every attempt.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Cost so far; `None` when no call reported one.
    pub fn cost_usd(&self) -> Option<f64> {
        self.cost_usd
    }

    /// Milliseconds left of `budget.timeMs` at `now`, if there is one.
    pub fn time_left(&self, now: f64) -> Option<f64> {
        self.budget.time_ms.map(|limit| limit - (now - self.started_at))
    }

    /// The time budget as spent at `now` (for a run stopped by it).
    pub fn time_used(&self, now: f64) -> Exceeded {
        Exceeded {
            budget_type: BudgetType::TimeMs,
            limit: self.budget.time_ms.unwrap_or(0.0),
            spent: now - self.started_at,
            requested: None,
        }
    }

    /// May a call with this estimate start at `now`? A call needs some of
    /// every limited resource, so an exhausted budget refuses any call.
    pub fn check_call(&self, estimate: &ToolEstimate, now: f64) -> Result<(), Exceeded> {
        self.check_spend(estimate)?;
        self.check_wait(0.0, now)
    }

    /// Whether the run has a cost limit (a call that cannot be priced is then refused).
    pub fn limits_cost(&self) -> bool {
        self.budget.cost_usd.is_some()
    }

    /// May calls using `estimate` in tokens and cost start? (No time check:
    /// for tools that start calls of their own, such as a bundle's replicates.)
    pub fn check_spend(&self, estimate: &ToolEstimate) -> Result<(), Exceeded> {
        if let Some(limit) = self.budget.tokens {
            let spent = self.usage.total_tokens as f64;
            // A call that fits itself needs its prompt and one output token.
            let needs = match estimate.fit {
                Some(fit) => fit.prompt_tokens.saturating_add(1),
                None => estimate.tokens.unwrap_or(0),
            };
            let would = spent + needs as f64;
            if spent >= limit || would > limit {
                return Err(Exceeded {
                    budget_type: BudgetType::Tokens,
                    limit,
                    spent,
                    requested: Some(would),
                });
            }
        }
        if let Some(limit) = self.budget.cost_usd {
            let spent = self.cost_usd.unwrap_or(0.0);
            let would = spent + estimate.cost_usd.unwrap_or(0.0);
            if spent >= limit || would > limit {
                return Err(Exceeded {
                    budget_type: BudgetType::CostUsd,
                    limit,
                    spent,
                    requested: Some(would),
                });
            }
        }
        Ok(())
    }

    /// The output limit a call fitting itself to the token budget sends:
    /// `Some(n)` when the budget leaves less than its own limit (or it has
    /// none), `None` when it goes unchanged.
    pub fn fitted_max_tokens(&self, fit: &TokenFit) -> Option<u64> {
        let limit = self.budget.tokens?;
        let left = (limit - self.usage.total_tokens as f64).floor().max(0.0) as u64;
        let allowed = left.saturating_sub(fit.prompt_tokens);
        match fit.max_tokens {
            Some(max) if max <= allowed => None,
            _ if allowed == 0 => None,
            _ => Some(allowed),
        }
    }

    /// May a wait of `delay_ms` start at `now`, leaving time for a call after it?
    pub fn check_wait(&self, delay_ms: f64, now: f64) -> Result<(), Exceeded> {
        match (self.budget.time_ms, self.time_left(now)) {
            (Some(limit), Some(left)) if left <= delay_ms => Err(Exceeded {
                budget_type: BudgetType::TimeMs,
                limit,
                spent: now - self.started_at,
                requested: Some(now - self.started_at + delay_ms),
            }),
            _ => Ok(()),
        }
    }

    /// Adds what a call used; `Err` when that put the run past a limit.
    pub fn charge(&mut self, usage: Option<Usage>, cost_usd: Option<f64>) -> Result<(), Exceeded> {
        if let Some(usage) = usage {
            self.usage.add(&usage);
        }
        if let Some(cost) = cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
            self.cost_usd = Some(self.cost_usd.unwrap_or(0.0) + cost);
        }
        let tokens = self.usage.total_tokens as f64;
        if let Some(limit) = self.budget.tokens.filter(|limit| tokens > *limit) {
            return Err(Exceeded {
                budget_type: BudgetType::Tokens,
                limit,
                spent: tokens,
                requested: None,
            });
        }
        let cost = self.cost_usd.unwrap_or(0.0);
        if let Some(limit) = self.budget.cost_usd.filter(|limit| cost > *limit) {
            return Err(Exceeded {
                budget_type: BudgetType::CostUsd,
                limit,
                spent: cost,
                requested: None,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_check_refuses_what_cannot_fit_and_charge_stops_past_limit() {
        let budget = Budget {
            tokens: Some(100.0),
            cost_usd: Some(0.10),
            time_ms: Some(1000.0),
        };
        let mut spend = Spend::new(budget, 0.0);
        assert!(spend
            .check_call(
                &ToolEstimate {
                    tokens: Some(100),
                    ..ToolEstimate::default()
                },
                0.0
            )
            .is_ok());
        let too_big = spend
            .check_call(
                &ToolEstimate {
                    tokens: Some(101),
                    ..ToolEstimate::default()
                },
                0.0,
            )
            .unwrap_err();
        assert_eq!(
            (too_big.budget_type, too_big.spent, too_big.requested),
            (BudgetType::Tokens, 0.0, Some(101.0)),
            "nothing was spent; the refused call needed 101"
        );
        assert!(spend.charge(Some(Usage::new(60, 40, None)), Some(0.05)).is_ok());
        let e = spend.check_call(&ToolEstimate::default(), 0.0).unwrap_err();
        assert_eq!(e.budget_type, BudgetType::Tokens, "exhausted budget refuses any call");
        let e = spend.charge(None, Some(0.06)).unwrap_err();
        assert_eq!(e.budget_type, BudgetType::CostUsd);
        assert!((e.spent - 0.11).abs() < 1e-9);
        assert!(spend.check_wait(999.0, 0.0).is_ok());
        assert_eq!(
            spend.check_wait(1000.0, 0.0).unwrap_err().budget_type,
            BudgetType::TimeMs
        );
        assert_eq!(spend.check_wait(0.0, 1000.0).unwrap_err().spent, 1000.0);
        let wait = spend.check_wait(300.0, 800.0).unwrap_err();
        assert_eq!((wait.spent, wait.requested), (800.0, Some(1100.0)));
    }
}
