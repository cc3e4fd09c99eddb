//! The orchestrator for a driver of its own (the TypeScript driver through
//! the bindings): plan a run into a [`RunMachine`], then hand out the shared
//! policies and report the machine's events. The driver performs the
//! actions; every decision stays in the machine.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::{Inner, Orchestrator, RunOptions};
use crate::model::error::OrchestratorError;
use crate::model::event::{Event, EventKind};
use crate::model::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::{AbortReason, Tool};
use crate::reliability::idempotency::validate_key;
use crate::reliability::{Budget, Spend};
use crate::run::{Deadline, Limits, Policies, RunMachine, Step};
use crate::trace::TraceIds;

/// A run planned for a driver: its machine and its candidates (the machine's
/// `Call::step` indexes `candidates`).
pub struct Begun {
    /// The run's decisions.
    pub machine: RunMachine,
    /// The tools it may call, in plan order, with their options.
    pub candidates: Rc<[PlanEntry]>,
    /// Its time limits.
    pub limits: Limits,
}

/// The earlier of `timeoutMs` and `budget.timeMs`, from `started`.
pub(super) fn limits_of<V>(
    inner_attempt_ms: Option<f64>,
    options: &RunOptions<V>,
    budget: &Budget,
    started: f64,
) -> Limits {
    let deadline = [
        options.timeout_ms.map(|ms| Deadline {
            at: started + ms,
            reason: AbortReason::Deadline,
        }),
        budget.time_ms.map(|ms| Deadline {
            at: started + ms,
            reason: AbortReason::TimeBudget,
        }),
    ]
    .into_iter()
    .flatten()
    .min_by(|a, b| a.at.total_cmp(&b.at));
    Limits {
        deadline,
        timeout_ms: options.timeout_ms,
        attempt_timeout_ms: options.attempt_timeout_ms.or(inner_attempt_ms),
        first_chunk_timeout_ms: options.chunks.as_ref().and(options.first_chunk_timeout_ms),
    }
}

/// The machine's view of `candidates`: providers and estimates, and whether
/// no estimate read the request (the plan may then be shared); `None` when a
/// step is not `drivable` (every step is checked before any estimate is
/// made: a built-in tool's reads the whole request).
pub(super) fn steps_of<V: Payload>(
    inner: &Inner<V>,
    request: &V,
    candidates: &[PlanEntry],
    drivable: &dyn Fn(&Step) -> bool,
) -> Option<(Vec<Step>, bool)> {
    // Every candidate names a registered tool (checked when the orchestrator is built, and
    // for an explicit `toolName` when the run is planned), so steps and candidates align.
    let found: Vec<_> = candidates
        .iter()
        .filter_map(|entry| inner.steps.get(&entry.tool_name).map(|found| (entry, found)))
        .collect();
    // Every step is checked before any estimate is made: estimates may read the request.
    if !found.iter().all(|(_, (step, _))| drivable(step)) {
        return None;
    }
    let mut steps = Vec::with_capacity(found.len());
    let mut fixed = true;
    for (entry, (step, tool)) in found {
        let mut step = step.clone();
        step.rule.clone_from(&entry.rule);
        step.estimate = tool.estimate(request, &entry.options);
        fixed &= !tool.estimate_reads_request();
        steps.push(step);
    }
    Some((steps, fixed))
}

impl<V: Payload> Inner<V> {
    /// The policies every run shares: breakers and retry.
    pub(super) fn policies(&self) -> Policies<'_> {
        Policies {
            breakers: &self.breakers,
            retry: &self.retry,
        }
    }
}

/// A plan a driver performs: its candidates and the machine's steps for them.
#[derive(Clone)]
struct Prepared {
    candidates: Rc<[PlanEntry]>,
    steps: Rc<[Step]>,
}

/// How many distinct plans a [`PlanCache`] keeps (sets of matching rules can
/// be many; past this the cache starts over).
const MAX_PLANS: usize = 256;

/// The plans one driver performs, by the rules that matched. With no
/// explicit tool, a plan is decided by which rules match alone; when no
/// step's estimate reads the request either, runs that match the same rules
/// share one plan, so the common path builds no candidates and no steps. One
/// cache serves one orchestrator and one `drivable`.
#[derive(Default)]
pub struct PlanCache {
    /// The plan when no rule matched (the defaults), the most common: not hashed.
    defaults: RefCell<Option<Prepared>>,
    by_rules: RefCell<HashMap<Vec<u32>, Prepared>>,
}

impl PlanCache {
    fn get(&self, matched: &[u32]) -> Option<Prepared> {
        if matched.is_empty() {
            return self.defaults.borrow().clone();
        }
        self.by_rules.borrow().get(matched).cloned()
    }

    fn keep(&self, matched: Vec<u32>, prepared: Prepared) {
        if matched.is_empty() {
            *self.defaults.borrow_mut() = Some(prepared);
            return;
        }
        let mut plans = self.by_rules.borrow_mut();
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(matched, prepared);
    }
}

impl<V: Payload> Orchestrator<V> {
    /// The plan of `request` for a driver, from `plans` when the same rules
    /// matched before; `None` when a step is not `drivable`. The rules read
    /// `planned` (see [`Self::begin`]).
    fn prepare<P: Payload>(
        &self,
        planned: &P,
        request: &V,
        options: &RunOptions<V>,
        plans: &PlanCache,
        drivable: &dyn Fn(&Step) -> bool,
    ) -> Result<Option<Prepared>, OrchestratorError> {
        let inner = &self.inner;
        let shared = options.tool_name.is_none() && options.tool_options.is_none();
        let matched = if shared {
            inner.planner.matching(planned)
        } else {
            Vec::new()
        };
        if let Some(prepared) = shared.then(|| plans.get(&matched)).flatten() {
            return Ok(Some(prepared));
        }
        let candidates = if shared {
            let entries = inner.planner.entries(&matched, &inner.default_tools);
            if entries.is_empty() {
                return Err(OrchestratorError::NoTool);
            }
            entries
        } else {
            self.candidates(request, options.tool_name.as_deref(), options.tool_options.as_ref())?
        };
        // A plan is shared only when no step's estimate read this request.
        let Some((steps, fixed)) = steps_of(inner, request, &candidates, drivable) else {
            return Ok(None);
        };
        let prepared = Prepared {
            candidates: candidates.into(),
            steps: steps.into(),
        };
        if shared && fixed {
            plans.keep(matched, prepared.clone());
        }
        Ok(Some(prepared))
    }

    /// Plans `request` into a machine for a driver that performs it itself.
    /// Keyed runs (with idempotency on), and plans with a step the driver
    /// cannot perform (`drivable` says), are not for it: `None`. A plan whose
    /// steps' estimates do not read the request is kept in `plans` and shared
    /// by later runs that match the same rules.
    ///
    /// The rules read `planned`: the request itself, or a stand-in that the
    /// rules read alike (the string at its `query`, when they read nothing
    /// else: [`Self::plans_by_query`]). Options that name a tool or its
    /// options plan over `request`.
    ///
    /// # Errors
    /// `invalid_request`, `unknown_tool`, `no_tool`.
    pub fn begin<P: Payload>(
        &self,
        planned: &P,
        request: &V,
        options: &RunOptions<V>,
        started: f64,
        plans: &PlanCache,
        drivable: &dyn Fn(&Step) -> bool,
    ) -> Result<Option<Begun>, OrchestratorError> {
        let inner = &self.inner;
        if let Some(key) = options
            .idempotency_key
            .as_deref()
            .filter(|_| inner.reliability.idempotency_enabled)
        {
            validate_key(key)?;
            return Ok(None);
        }
        let Some(prepared) = self.prepare(planned, request, options, plans, drivable)? else {
            return Ok(None);
        };
        let budget = options.budget.unwrap_or_default();
        let limits = limits_of(inner.reliability.attempt_timeout_ms, options, &budget, started);
        let machine = RunMachine::new(
            prepared.steps,
            Spend::new(budget, started),
            limits,
            inner.events.is_some(),
        );
        Ok(Some(Begun {
            machine,
            candidates: prepared.candidates,
            limits,
        }))
    }

    /// The policies every run of this orchestrator shares.
    pub fn policies(&self) -> Policies<'_> {
        self.inner.policies()
    }

    /// The host the orchestrator runs on.
    pub fn platform(&self) -> &crate::platform::Platform {
        &self.inner.platform
    }

    /// Whether planning reads nothing of a request: no rules, defaults only,
    /// and no tool whose estimate reads it.
    pub fn plans_without_request(&self) -> bool {
        self.inner.planner.rules().is_empty() && !self.estimates_read_requests()
    }

    /// Whether a registered tool's estimate reads the request.
    fn estimates_read_requests(&self) -> bool {
        self.inner.tools.values().any(|t| t.estimate_reads_request())
    }

    /// Whether planning reads the request's `query` and nothing else (keyword
    /// rules on the default attribute): a plan of the string at `query` is
    /// then the plan of the request.
    pub fn plans_by_query(&self) -> bool {
        self.inner.planner.paths() == ["query"] && !self.estimates_read_requests()
    }

    /// Whether anyone listens to events.
    pub fn listening(&self) -> bool {
        self.inner.events.is_some()
    }

    /// Reports a driven run's events.
    pub fn emit_events(&self, ids: Option<&TraceIds>, events: Vec<EventKind>) {
        let Some(sink) = &self.inner.events else {
            return;
        };
        for kind in events {
            // Read per event, as the Rust driver does: a listener may take its time, or start
            // runs whose events come in between, and `at` keeps increasing in delivery order.
            sink.emit(&Event {
                at: self.inner.platform.clock.wall_ms(),
                trace_id: ids.map(|i| i.trace_id.clone()),
                request_id: ids.map(|i| i.request_id.clone()),
                kind,
            });
        }
    }

    /// The registered tools' names, in the order of [`Step::tool`].
    pub fn tool_names(&self) -> Vec<String> {
        let mut indexed: Vec<(usize, &String)> = self.inner.steps.iter().map(|(name, (s, _))| (s.tool, name)).collect();
        indexed.sort_unstable();
        indexed.into_iter().map(|(_, name)| name.clone()).collect()
    }

    /// The tool registered as `name`.
    pub fn tool(&self, name: &str) -> Option<&std::rc::Rc<dyn Tool<V>>> {
        self.inner.tools.get(name)
    }
}
