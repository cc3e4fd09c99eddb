//! `bundle`: k replicates of one tool, an evidence bundle of their answers,
//! and an early stop once the consensus is settled (the rule is in
//! [`super::consensus`]).
//!
//! Replicates run at most `concurrency` at a time, and a new one starts only
//! when it could still be needed: while the tally would stay unsettled even
//! if every replicate in flight agreed with the leader. Before each one starts,
//! the run's budget is checked against everything already spent plus every
//! replicate in flight, so a bundle never starts a call the budget could not
//! pay for. When the tally settles, replicates still in flight are aborted
//! and awaited, so whatever they report still counts. The bundle fails only
//! when fewer than `minSuccesses` replicates answer.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::consensus::{Compare, Tally};
use crate::model::config;
use crate::model::error::{OrchestratorError, ToolError, ToolErrorCategory};
use crate::model::payload::Payload;
use crate::platform::{AbortReason, AbortSignal, Random, Tool, ToolContext, ToolEstimate, ToolOutput, Usage};
use crate::reliability::Exceeded;
use crate::trace::with_new_span;

fn replicates<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    config::count(d).and_then(|k| {
        if k <= 100 {
            Ok(k)
        } else {
            Err(serde::de::Error::custom(format!("must be at most 100, got {k}")))
        }
    })
}

const fn default_k() -> u32 {
    3
}
const fn default_epsilon() -> f64 {
    0.1
}
const fn default_concurrency() -> u32 {
    2
}
const fn default_min_successes() -> u32 {
    1
}

/// `bundle({ k, epsilon, concurrency, compare, minSuccesses })` (the
/// underlying `tool` is given apart).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleConfig {
    /// Replicates to run at most (1..=100).
    #[serde(default = "default_k", deserialize_with = "replicates")]
    pub k: u32,
    /// Stop once the leader's share is at least `1 - epsilon` (0..=1).
    #[serde(default = "default_epsilon", deserialize_with = "config::unit_interval")]
    pub epsilon: f64,
    /// Replicates in flight at once (1..=100).
    #[serde(default = "default_concurrency", deserialize_with = "replicates")]
    pub concurrency: u32,
    /// How answers are compared.
    #[serde(default)]
    pub compare: Compare,
    /// Fewer answers than this fail the bundle.
    #[serde(
        default = "default_min_successes",
        alias = "min_successes",
        deserialize_with = "replicates"
    )]
    pub min_successes: u32,
}

impl Default for BundleConfig {
    fn default() -> Self {
        Self {
            k: default_k(),
            epsilon: default_epsilon(),
            concurrency: default_concurrency(),
            compare: Compare::default(),
            min_successes: default_min_successes(),
        }
    }
}

/// Per-run overrides: `toolOptions.k` and `toolOptions.epsilon`.
#[derive(Deserialize)]
struct Overrides {
    #[serde(default, deserialize_with = "opt_replicates")]
    k: Option<u32>,
    #[serde(default, deserialize_with = "opt_unit")]
    epsilon: Option<f64>,
}

fn opt_replicates<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    replicates(d).map(Some)
}

fn opt_unit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    config::unit_interval(d).map(Some)
}

/// One finished replicate.
struct Replicate {
    output: Option<Value>,
    usage: Option<Usage>,
    cost_usd: Option<f64>,
    error: Option<Value>,
}

impl Replicate {
    fn to_json(&self) -> Value {
        let usage = self.usage.map_or(Value::Null, |u| {
            json!({ "promptTokens": u.prompt_tokens, "completionTokens": u.completion_tokens, "totalTokens": u.total_tokens })
        });
        let mut out = Map::new();
        out.insert("output".into(), self.output.clone().unwrap_or(Value::Null));
        out.insert("usage".into(), usage);
        out.insert("costUsd".into(), self.cost_usd.map_or(Value::Null, Value::from));
        if let Some(error) = &self.error {
            out.insert("error".into(), error.clone());
        }
        Value::Object(out)
    }
}

fn error_json(error: &ToolError, aborted: bool) -> Value {
    if aborted {
        return json!({ "category": "aborted", "message": "stopped early: the consensus was settled" });
    }
    let mut out = json!({ "category": error.category.as_str(), "message": error.message });
    if let (Some(status), Some(object)) = (error.status, out.as_object_mut()) {
        object.insert("status".into(), status.into());
    }
    out
}

/// Why the bundle stopped starting replicates.
enum Stop {
    Settled,
    Budget(Exceeded),
    /// A non-retryable failure: every replicate would meet it.
    Fatal,
}

/// The `bundle` tool over an underlying tool.
pub struct Bundle<V> {
    inner: Rc<dyn Tool<V>>,
    config: BundleConfig,
    random: Rc<dyn Random>,
}

impl<V: Payload> Bundle<V> {
    /// A bundle of `inner`; `random` makes each replicate's span id.
    pub fn new(inner: Rc<dyn Tool<V>>, config: BundleConfig, random: Rc<dyn Random>) -> Self {
        Self { inner, config, random }
    }

    /// Reads the configuration from JSON (without `tool`); errors name `field.<key>`.
    ///
    /// # Errors
    /// `invalid_config` naming the field.
    pub fn config_from_json(value: &Value, field: &str) -> Result<BundleConfig, OrchestratorError> {
        let config: BundleConfig = config::from_json(value, field)?;
        if config.min_successes > config.k {
            return Err(OrchestratorError::config(
                format!("{field}.minSuccesses"),
                format!("must be at most k ({})", config.k),
            ));
        }
        Ok(config)
    }

    fn per_run(&self, options: &Value) -> Result<(u32, f64), ToolError> {
        let overrides: Overrides = match options {
            Value::Object(map) => {
                let picked: Map<String, Value> = map
                    .iter()
                    .filter(|(key, value)| (*key == "k" || *key == "epsilon") && !value.is_null())
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect();
                serde_path_to_error::deserialize(Value::Object(picked))
                    .map_err(|e| ToolError::client(format!("toolOptions.{}: {}", e.path(), e.inner())))?
            }
            _ => Overrides { k: None, epsilon: None },
        };
        Ok((
            overrides.k.unwrap_or(self.config.k),
            overrides.epsilon.unwrap_or(self.config.epsilon),
        ))
    }
}

/// What the replicates used together.
fn total(replicates: &[Replicate]) -> (Option<Usage>, Option<f64>) {
    let mut usage: Option<Usage> = None;
    let mut cost: Option<f64> = None;
    for r in replicates {
        if let Some(u) = &r.usage {
            usage.get_or_insert_with(Usage::default).add(u);
        }
        if let Some(c) = r.cost_usd {
            cost = Some(cost.unwrap_or(0.0) + c);
        }
    }
    (usage, cost)
}

impl<V: Payload> Tool<V> for Bundle<V> {
    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn estimate(&self, request: &V, options: &Value) -> ToolEstimate {
        // At least one replicate must fit; each further one is checked as it starts.
        self.inner.estimate(request, options)
    }

    fn estimate_reads_request(&self) -> bool {
        self.inner.estimate_reads_request()
    }

    fn execute(
        &self,
        request: &V,
        options: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<V>, ToolError>> {
        let per_run = self.per_run(options);
        let inner = Rc::clone(&self.inner);
        let random = Rc::clone(&self.random);
        let request = request.clone();
        let options = options.clone();
        let config = self.config.clone();
        Box::pin(async move {
            let (k, epsilon) = per_run?;
            let estimate = inner.estimate(&request, &options);
            let mut spend = ctx.spend.clone();
            let mut tally = Tally::new(k);
            let mut finished: Vec<(usize, Replicate)> = Vec::new();
            let mut signals: Vec<AbortSignal> = Vec::new();
            let mut in_flight = FuturesUnordered::new();
            let mut stop: Option<Stop> = None;
            let mut last_error: Option<ToolError> = None;
            loop {
                while stop.is_none()
                    && in_flight.len() < config.concurrency as usize
                    && signals.len() < k as usize
                    && !ctx.signal.is_aborted()
                    && !tally.settled_if_pending_agree(in_flight.len() as u32, epsilon)
                {
                    if let Err(exceeded) = spend.check_spend(&estimate.times(in_flight.len() as u64 + 1)) {
                        stop = Some(Stop::Budget(exceeded));
                        break;
                    }
                    let signal = ctx.signal.child();
                    // The bundle's own spend, so a replicate fits itself to what is left now.
                    let call_ctx = ToolContext {
                        traceparent: with_new_span(&ctx.traceparent, &*random),
                        signal: signal.clone(),
                        spend: spend.clone(),
                        ..ctx.clone()
                    };
                    let index = signals.len();
                    let call = inner.execute(&request, &options, call_ctx);
                    in_flight.push(async move { (index, call.await) });
                    signals.push(signal);
                }
                let Some((index, result)) = in_flight.next().await else {
                    break;
                };
                let result = result.and_then(|out| match out.output.to_json() {
                    Ok(json) => Ok((json, out.usage, out.cost_usd)),
                    Err(m) => Err(ToolError::invalid_output(&ctx.tool_name, m).with_usage(out.usage, out.cost_usd)),
                });
                let (replicate, charged) = match result {
                    Ok((json, usage, cost_usd)) => {
                        tally.answer(index, config.compare.key(&json));
                        let charged = spend.charge(usage, cost_usd);
                        let replicate = Replicate {
                            output: Some(json),
                            usage,
                            cost_usd,
                            error: None,
                        };
                        (replicate, charged)
                    }
                    Err(error) => {
                        let aborted = signals.get(index).and_then(AbortSignal::reason) == Some(AbortReason::Superseded);
                        if !aborted {
                            tally.failure();
                            if !error.retryable && stop.is_none() {
                                stop = Some(Stop::Fatal);
                                signals.iter().for_each(|s| s.abort(AbortReason::Superseded));
                            }
                        }
                        let charged = spend.charge(error.usage, error.cost_usd);
                        let replicate = Replicate {
                            output: None,
                            usage: error.usage,
                            cost_usd: error.cost_usd,
                            error: Some(error_json(&error, aborted)),
                        };
                        if !aborted {
                            last_error = Some(error);
                        }
                        (replicate, charged)
                    }
                };
                finished.push((index, replicate));
                if let (Err(exceeded), None) = (charged, &stop) {
                    stop = Some(Stop::Budget(exceeded));
                }
                if stop.is_none() && tally.settled(epsilon) {
                    stop = Some(Stop::Settled);
                    signals.iter().for_each(|s| s.abort(AbortReason::Superseded));
                }
            }
            finished.sort_by_key(|(index, _)| *index);
            let replicates: Vec<Replicate> = finished.into_iter().map(|(_, r)| r).collect();
            let (usage, cost_usd) = total(&replicates);
            let answers = tally.answers();
            if answers == 0 || answers < config.min_successes.min(k) {
                let summary = format!(
                    "bundle: {answers} of {} replicates answered (need {})",
                    replicates.len(),
                    config.min_successes.min(k).max(1)
                );
                let error = match (stop, last_error) {
                    (Some(Stop::Budget(exceeded)), _) => {
                        ToolError::new(ToolErrorCategory::Unknown, summary).with_budget_exceeded(exceeded)
                    }
                    (_, Some(last)) => ToolError {
                        message: format!("{summary}; last failure: {}", last.message),
                        ..last
                    },
                    (_, None) => ToolError::timeout(summary),
                };
                return Err(error.with_usage(usage, cost_usd));
            }
            let (leader_key, _, first) = tally.leader().unwrap_or_default();
            let answer_of = |index: usize| replicates.get(index).and_then(|r| r.output.clone());
            let consensus = answer_of(first).unwrap_or(Value::Null);
            let mut seen = vec![leader_key.to_owned()];
            let mut disagreements = Vec::new();
            for output in replicates.iter().filter_map(|r| r.output.as_ref()) {
                let key = config.compare.key(output);
                if !seen.contains(&key) {
                    seen.push(key);
                    disagreements.push(output.clone());
                }
            }
            let bundle = json!({
                "consensus": consensus,
                "agreement": tally.agreement(),
                "confidence": tally.confidence(),
                "replicates": replicates.iter().map(Replicate::to_json).collect::<Vec<_>>(),
                "disagreements": disagreements,
            });
            let output = V::from_json(bundle).map_err(|m| ToolError::invalid_output(&ctx.tool_name, m))?;
            Ok(ToolOutput {
                output,
                usage,
                cost_usd,
                message: None,
            })
        })
    }
}
