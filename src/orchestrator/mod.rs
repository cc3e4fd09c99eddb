//! The orchestrator: plan, idempotency, budget, attempt loop, result.
//!
//! [`Orchestrator::run`] resolves the run's ids, arms its deadline, plans
//! (explicit tool, else rules, else defaults), then either executes the plan
//! ([`attempts`]) or, with an idempotency key, goes through [`keyed`] first.

mod attempts;
mod config;
mod context;
mod driven;
mod keyed;
mod lead;
mod prefetch;
mod result;
mod state;
mod streaming;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures::future::{self, Either};
use serde_json::{Map, Value};

pub use config::{OrchestratorConfig, ReliabilityConfig, RunOptions, StoreFailurePolicy};
use context::RunContext;
pub use driven::{Begun, PlanCache};
pub use prefetch::{Answered, KeyRead, Prefetched};
pub use result::RunResult;
pub(crate) use result::{Done, Failure, Outcome};

use crate::model::error::{OrchestratorError, RunError};
use crate::model::event::EventSink;
use crate::model::payload::Payload;
use crate::planning::{PlanEntry, RuleBasedPlanner};
use crate::platform::{AbortSignal, KvStore, MemoryKv, Platform, Tool};
use crate::reliability::idempotency::{validate_key, SingleFlight};
use crate::reliability::timeout::watchdog;
use crate::reliability::{BreakerRegistry, RetryPolicy, Spend};
use crate::trace::TraceIds;

/// Provider name of tools that do not name one.
pub const DEFAULT_PROVIDER: &str = "default";

pub(crate) struct Inner<V: Payload> {
    platform: Platform,
    planner: RuleBasedPlanner,
    tools: HashMap<String, Rc<dyn Tool<V>>>,
    /// Each tool as the run machine sees it (shared names, its index, its
    /// provider), with the tool: one lookup per candidate.
    steps: HashMap<String, (crate::run::Step, Rc<dyn Tool<V>>)>,
    default_tools: Vec<String>,
    retry: RetryPolicy,
    breakers: Rc<BreakerRegistry>,
    reliability: ReliabilityConfig,
    store: Rc<dyn KvStore>,
    events: Option<Rc<dyn EventSink>>,
    flights: Rc<SingleFlight<keyed::Led<V>>>,
    /// Keyed streaming executions under way in this isolate, by store key, so a
    /// run joining one receives its chunks as they come.
    streams: RefCell<HashMap<String, Rc<streaming::StreamRun>>>,
}

/// The breaker a tool naming `provider` reports to.
fn provider_name(provider: &str) -> &str {
    if provider.is_empty() {
        DEFAULT_PROVIDER
    } else {
        provider
    }
}

/// Each registered tool as a run-machine step: its index in name order, shared names.
type ToolSteps<V> = HashMap<String, (crate::run::Step, Rc<dyn Tool<V>>)>;

fn steps_of_tools<V: Payload>(tools: &HashMap<String, Rc<dyn Tool<V>>>) -> ToolSteps<V> {
    let mut names: Vec<&String> = tools.keys().collect();
    names.sort_unstable();
    names
        .into_iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let tool = tools.get(name)?;
            let step = crate::run::Step {
                tool: index,
                tool_name: name.as_str().into(),
                provider: provider_name(tool.provider()).into(),
                rule: None,
                estimate: crate::platform::ToolEstimate::default(),
            };
            Some((name.clone(), (step, Rc::clone(tool))))
        })
        .collect()
}

/// Builds an [`Orchestrator`]: config, tools, store and listener.
pub struct OrchestratorBuilder<V: Payload> {
    platform: Platform,
    config: OrchestratorConfig,
    tools: HashMap<String, Rc<dyn Tool<V>>>,
    store: Option<Rc<dyn KvStore>>,
    events: Option<Rc<dyn EventSink>>,
}

impl<V: Payload> OrchestratorBuilder<V> {
    /// Sets the configuration (planner rules, default tools, reliability).
    pub fn config(mut self, config: OrchestratorConfig) -> Self {
        self.config = config;
        self
    }

    /// Registers `tool` under `name`.
    pub fn tool(mut self, name: impl Into<String>, tool: Rc<dyn Tool<V>>) -> Self {
        self.tools.insert(name.into(), tool);
        self
    }

    /// Uses `store` for idempotency records (default: in memory).
    pub fn store(mut self, store: Rc<dyn KvStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Sends events to `sink`.
    pub fn events(mut self, sink: Rc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    /// Validates everything and builds the orchestrator.
    ///
    /// # Errors
    /// `invalid_config` naming the field: a bad rule, a rule or default
    /// tool that is not registered, `maxDelay` below `initialDelay`.
    pub fn build(self) -> Result<Orchestrator<V>, OrchestratorError> {
        let OrchestratorConfig {
            planner,
            default_tools,
            reliability,
        } = self.config;
        reliability.retry_policy.validate("reliability.retryPolicy")?;
        let planner = RuleBasedPlanner::from_config(&planner, "planner")?;
        for rule in planner.rules() {
            if !self.tools.contains_key(&rule.tool_name) {
                return Err(OrchestratorError::config(
                    rule.tool_field.clone(),
                    format!("tool `{}` is not registered", rule.tool_name),
                ));
            }
        }
        for (i, name) in default_tools.iter().enumerate() {
            if !self.tools.contains_key(name) {
                return Err(OrchestratorError::config(
                    format!("defaultTools[{i}]"),
                    format!("tool `{name}` is not registered"),
                ));
            }
        }
        let clock = Rc::clone(&self.platform.clock);
        let store = self.store.unwrap_or_else(|| Rc::new(MemoryKv::new(Rc::clone(&clock))));
        let providers = self.tools.values().map(|t| provider_name(t.provider()).to_owned());
        let breakers = BreakerRegistry::new(reliability.circuit_breakers.clone(), providers, clock);
        let steps = steps_of_tools(&self.tools);
        let inner = Inner {
            steps,
            breakers: Rc::new(breakers),
            retry: RetryPolicy::new(reliability.retry_policy.clone()),
            platform: self.platform,
            planner,
            tools: self.tools,
            default_tools,
            reliability,
            store,
            events: self.events,
            flights: SingleFlight::new(),
            streams: RefCell::new(HashMap::new()),
        };
        Ok(Orchestrator { inner: Rc::new(inner) })
    }
}

/// Plans a tool for each request and runs it reliably. Cheap to clone.
pub struct Orchestrator<V: Payload> {
    inner: Rc<Inner<V>>,
}

impl<V: Payload> Clone for Orchestrator<V> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<V: Payload> Orchestrator<V> {
    /// Starts building an orchestrator on `platform`.
    pub fn builder(platform: Platform) -> OrchestratorBuilder<V> {
        OrchestratorBuilder {
            platform,
            config: OrchestratorConfig::default(),
            tools: HashMap::new(),
            store: None,
            events: None,
        }
    }

    /// Plans and runs `request`. The future owns what it needs (`'static`),
    /// so a host can hand it to its event loop.
    ///
    /// # Errors
    /// A [`RunError`] with the run's ids; see [`OrchestratorError`] for the kinds.
    pub fn run(
        &self,
        request: V,
        options: RunOptions<V>,
    ) -> impl Future<Output = Result<RunResult<V>, RunError<V>>> + 'static {
        let this = self.clone();
        async move { this.run_owned(request, options, None).await }
    }

    async fn run_owned(
        &self,
        request: V,
        options: RunOptions<V>,
        prefetched: Option<prefetch::Prefetched>,
    ) -> Result<RunResult<V>, RunError<V>> {
        let inner = Rc::clone(&self.inner);
        let clock = Rc::clone(&inner.platform.clock);
        let started = clock.now_ms();
        let (ids, invalid) = TraceIds::checked(
            options.trace_id.as_deref(),
            options.request_id.as_deref(),
            options.traceparent.as_deref(),
            &*inner.platform.random,
        );
        if let Some(error) = invalid {
            return Err(RunError {
                error,
                trace_id: ids.trace_id,
                request_id: ids.request_id,
                output: None,
            });
        }
        let outcome = self.run_with_ids(request, options, &ids, started, prefetched).await;
        let elapsed_ms = clock.now_ms() - started;
        match outcome {
            Ok(done) => Ok(RunResult {
                output: done.output,
                tool_name: done.tool_name,
                attempts: done.attempts,
                cached: done.cached,
                usage: done.usage,
                cost_usd: done.cost_usd,
                message: done.message,
                trace_id: ids.trace_id,
                request_id: ids.request_id,
                elapsed_ms,
                finish_reason: done.finish_reason,
            }),
            Err(failure) => Err(RunError {
                error: failure.error,
                trace_id: ids.trace_id,
                request_id: ids.request_id,
                output: failure.output,
            }),
        }
    }

    async fn run_with_ids(
        &self,
        request: V,
        options: RunOptions<V>,
        ids: &TraceIds,
        started: f64,
        prefetched: Option<prefetch::Prefetched>,
    ) -> Outcome<V> {
        let inner = Rc::clone(&self.inner);
        let key = match options.idempotency_key.clone() {
            Some(key) if inner.reliability.idempotency_enabled => {
                validate_key(&key)?;
                Some(key)
            }
            _ => None,
        };
        let (candidates, first) = match prefetched {
            Some(prefetched) => (prefetched.candidates, Some(prefetched.first)),
            None => (self.run_candidates(&request, &options)?, None),
        };
        let budget = options.budget.unwrap_or_default();
        let limits = driven::limits_of(inner.reliability.attempt_timeout_ms, &options, &budget, started);
        let abortable = options.signal.is_some() || limits.deadline.is_some() || options.chunks.is_some();
        let ctx = Rc::new(RunContext {
            abortable,
            inner: Rc::clone(&inner),
            ids: ids.clone(),
            spend: Spend::new(budget, started),
            // A child, so the run can abort its own signal without touching the caller's.
            signal: options
                .signal
                .as_ref()
                .map_or_else(AbortSignal::new, AbortSignal::child),
            limits,
            stream: options.chunks.map(|sink| {
                Rc::new(streaming::StreamRun::new(
                    sink,
                    options.idle_timeout_ms,
                    options.on_interrupt.unwrap_or_default(),
                    started,
                ))
            }),
            validate: options.validate.clone(),
        });
        if let Some(reason) = ctx.signal.reason() {
            return Err(Failure::from(ctx.stop_error(reason)));
        }
        let body = async {
            match key {
                Some(key) => keyed::run_keyed(Rc::clone(&ctx), request, candidates, key, first).await,
                None => attempts::execute(&ctx, &request, candidates).await,
            }
        };
        let Some(deadline) = limits.deadline else {
            return body.await;
        };
        let timer = watchdog(
            Rc::clone(&inner.platform.sleeper),
            deadline.at - started,
            ctx.signal.clone(),
            deadline.reason,
        );
        let outcome = match future::select(std::pin::pin!(body), std::pin::pin!(timer)).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(((), _)) => Err(Failure::from(ctx.stop_error(deadline.reason))),
        };
        outcome
    }

    /// A dry run of planning: the tools the rules pick for `request`, in
    /// order, defaults last, before breakers are considered.
    ///
    /// # Errors
    /// `no_tool` when nothing matches and there is no default.
    pub fn plan(&self, request: &V) -> Result<Vec<String>, OrchestratorError> {
        self.candidates(request, None, None)
            .map(|entries| entries.into_iter().map(|e| e.tool_name).collect())
    }

    /// The tools a request may go to, before breakers are considered.
    fn candidates(
        &self,
        request: &V,
        explicit: Option<&str>,
        run_options: Option<&Value>,
    ) -> Result<Vec<PlanEntry>, OrchestratorError> {
        let inner = &self.inner;
        if let Some(name) = explicit {
            if !inner.tools.contains_key(name) {
                return Err(OrchestratorError::UnknownTool {
                    tool_name: name.to_owned(),
                });
            }
            let options = run_options.cloned().unwrap_or(Value::Null);
            return Ok(vec![PlanEntry {
                tool_name: name.to_owned(),
                options: Rc::new(options),
                rule: None,
            }]);
        }
        let mut candidates = inner.planner.candidates(request, &inner.default_tools);
        if candidates.is_empty() {
            return Err(OrchestratorError::NoTool);
        }
        if let Some(overrides) = run_options {
            for entry in &mut candidates {
                entry.options = Rc::new(merge_options(&entry.options, overrides));
            }
        }
        Ok(candidates)
    }

    /// Idempotent executions under way in this isolate.
    pub fn in_flight(&self) -> usize {
        self.inner.flights.len()
    }
}

/// Run options over rule options: object keys merge (the run's win); anything else is replaced.
fn merge_options(base: &Value, overrides: &Value) -> Value {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            let mut merged: Map<String, Value> = base.clone();
            merged.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(merged)
        }
        (_, overrides) => overrides.clone(),
    }
}
