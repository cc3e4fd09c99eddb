//! The attempt loop: the one place that calls tools and sleeps.
//!
//! For each tool of the plan in turn: check the budget, ask the provider's
//! breaker, call the tool (raced against the attempt timeout and the run's
//! signal), settle the breaker, charge the budget, then let the retry
//! policy decide between another call after a wait, the next tool, or the
//! end of the run.

use std::rc::Rc;

use futures::future::{self, Either, FutureExt, LocalBoxFuture};

use super::context::RunContext;
use super::streaming::{drain, first_chunk, Draining, Opened};
use super::{Done, Failure};
use crate::error::{OrchestratorError, ToolError, ToolErrorCategory};
use crate::event::EventKind;
use crate::payload::Payload;
use crate::planning::{without_open, PlanEntry};
use crate::platform::{check_output, AbortReason, ToolContext, ToolOutput};
use crate::reliability::timeout::{until_aborted, watchdog};
use crate::reliability::{CircuitState, GiveUp, RetryDecision};

/// Runs the plan built from `candidates` until a tool succeeds or the plan is spent.
pub(super) async fn execute<V: Payload>(
    ctx: &RunContext<V>,
    request: &V,
    candidates: Vec<PlanEntry>,
) -> Result<Done<V>, Failure<V>> {
    let inner = Rc::clone(&ctx.inner);
    let plan = without_open(candidates, |name| inner.breakers.is_open(inner.provider_of(name)));
    let Some(primary) = plan.tools.first() else {
        return Err(Failure::from(OrchestratorError::ToolExecution {
            tool_name: plan.skipped.first().cloned().unwrap_or_default(),
            attempts: 0,
            category: ToolErrorCategory::CircuitOpen,
            cause: Some(Box::new(circuit_open_cause(ctx, plan.skipped.iter()))),
        }));
    };
    ctx.emit(|| EventKind::Plan {
        tool_name: primary.tool_name.clone(),
        fallbacks: plan.tools.iter().skip(1).map(|e| e.tool_name.clone()).collect(),
        rule: primary.rule.clone(),
        skipped: plan.skipped.clone(),
    });

    let mut calls = 0u32;
    let mut last_error: Option<ToolError> = None;
    for (index, entry) in plan.tools.iter().enumerate() {
        let next = plan.tools.get(index + 1);
        let give_up = match try_tool(ctx, request, entry, next.is_some(), &mut calls, &mut last_error).await? {
            ToolOutcome::Succeeded(done) => return Ok(done),
            ToolOutcome::GaveUp(reason) => reason,
        };
        match next {
            Some(next) => ctx.emit(|| EventKind::Fallback {
                from: entry.tool_name.clone(),
                to: next.tool_name.clone(),
                reason: give_up.as_str().into(),
            }),
            None => {
                // A tool left because its breaker is open reports `circuit_open`,
                // with the last failure seen (if any) as the cause.
                let category = match (give_up, &last_error) {
                    (GiveUp::CircuitOpen, _) | (_, None) => ToolErrorCategory::CircuitOpen,
                    (_, Some(cause)) => cause.category,
                };
                let names = plan.skipped.iter().chain(plan.tools.iter().map(|e| &e.tool_name));
                let cause = last_error.unwrap_or_else(|| circuit_open_cause(ctx, names));
                let error = OrchestratorError::ToolExecution {
                    tool_name: entry.tool_name.clone(),
                    attempts: calls,
                    category,
                    cause: Some(Box::new(cause)),
                };
                return Err(Failure::from(error));
            }
        }
    }
    Err(Failure::from(OrchestratorError::NoTool))
}

/// The attempt's time limit and how its timeout reads: `attemptTimeoutMs`, or
/// in a streaming run the time to a first chunk when that is shorter.
fn attempt_timeout<V: Payload>(ctx: &RunContext<V>) -> (Option<f64>, String) {
    let attempt = ctx.attempt_timeout_ms;
    let first = ctx.stream.as_ref().and_then(|s| s.first_chunk_timeout_ms);
    match (attempt, first) {
        (_, Some(first)) if attempt.is_none_or(|a| first < a) => {
            (Some(first), format!("no first chunk within {first} ms"))
        }
        (Some(ms), _) => (Some(ms), format!("attempt timed out after {ms} ms")),
        (None, _) => (None, String::new()),
    }
}

/// Why a plan ended with no call made: the providers of `tools` whose
/// breakers are open (all of them, should none be open any more).
fn circuit_open_cause<'a, V: Payload>(ctx: &RunContext<V>, tools: impl Iterator<Item = &'a String>) -> ToolError {
    let inner = &ctx.inner;
    let mut providers: Vec<&str> = tools.map(|name| inner.provider_of(name)).collect();
    providers.sort_unstable();
    providers.dedup();
    let open: Vec<&str> = providers
        .iter()
        .copied()
        .filter(|p| inner.breakers.is_open(p))
        .collect();
    let listed = if open.is_empty() { providers } else { open };
    ToolError::new(
        ToolErrorCategory::CircuitOpen,
        format!("not called: the circuit breaker is open for {}", listed.join(", ")),
    )
}

pub(super) enum ToolOutcome<V> {
    Succeeded(Done<V>),
    GaveUp(GiveUp),
}

/// What one call answered: a whole output, or a stream past its first chunk.
enum Called<V> {
    Whole(ToolOutput<V>),
    Stream(Opened),
}

/// Calls one tool until it succeeds, is given up, or the run ends.
async fn try_tool<V: Payload>(
    ctx: &RunContext<V>,
    request: &V,
    entry: &PlanEntry,
    has_fallback: bool,
    calls: &mut u32,
    last_error: &mut Option<ToolError>,
) -> Result<ToolOutcome<V>, Failure<V>> {
    let inner = &ctx.inner;
    let tool = inner.tools.get(&entry.tool_name).ok_or_else(|| {
        Failure::from(OrchestratorError::UnknownTool {
            tool_name: entry.tool_name.clone(),
        })
    })?;
    let provider = inner.provider_of(&entry.tool_name);
    let mut attempt = 0u32;
    loop {
        let estimate = tool.estimate(request, &entry.options);
        if let Some(model) = estimate
            .unpriced_model
            .as_ref()
            .filter(|_| ctx.spend.borrow().limits_cost())
        {
            // Spending blind against a cost limit could overrun it: refuse instead.
            return Err(Failure::from(OrchestratorError::config(
                format!("tools.{}.pricing", entry.tool_name),
                format!("model `{model}` has no price, so a costUsd budget cannot be enforced; add it to `pricing`"),
            )));
        }
        let checked = ctx.spend.borrow().check_call(&estimate, ctx.now());
        checked.map_err(|e| Failure::from(ctx.budget_error(e)))?;
        let fitted_max_tokens = estimate.fit.and_then(|fit| ctx.spend.borrow().fitted_max_tokens(&fit));

        let (permit, transition) = inner.breakers.acquire(provider);
        ctx.emit_breaker(transition);
        let Some(permit) = permit else {
            return Ok(ToolOutcome::GaveUp(GiveUp::CircuitOpen));
        };
        attempt += 1;
        *calls += 1;
        ctx.emit(|| EventKind::Attempt {
            tool_name: entry.tool_name.clone(),
            attempt,
            fitted_max_tokens,
        });

        let call_signal = ctx.signal.child();
        let tool_ctx = ToolContext {
            trace_id: ctx.ids.trace_id.clone(),
            request_id: ctx.ids.request_id.clone(),
            attempt,
            tool_name: entry.tool_name.clone(),
            traceparent: ctx.ids.traceparent(&*inner.platform.random),
            signal: call_signal.clone(),
            spend: ctx.spend.borrow().clone(),
            partial: ctx.stream.as_ref().and_then(|run| run.partial()),
        };
        let attempt_started = ctx.now();
        let call: LocalBoxFuture<'_, Result<Called<V>, ToolError>> = match &ctx.stream {
            None => {
                let call = tool.execute(request, &entry.options, tool_ctx);
                let validator = ctx.validate.clone();
                let name = entry.tool_name.clone();
                Box::pin(async move { check_output(validator, &name, call.await?).await.map(Called::Whole) })
            }
            Some(_) => {
                Box::pin(first_chunk(tool.stream(request, &entry.options, tool_ctx)).map(|r| r.map(Called::Stream)))
            }
        };
        let (timeout_ms, timeout_message) = attempt_timeout(ctx);
        let guarded = until_aborted(&call_signal, call);
        let raced = match timeout_ms {
            Some(ms) => {
                let sleeper = Rc::clone(&inner.platform.sleeper);
                let timer = watchdog(sleeper, ms, call_signal.clone(), AbortReason::AttemptTimeout);
                match future::select(std::pin::pin!(guarded), std::pin::pin!(timer)).await {
                    Either::Left((raced, _)) => raced,
                    Either::Right(((), _)) => Err(AbortReason::AttemptTimeout),
                }
            }
            None => guarded.await,
        };
        let raced = match (raced, call_signal.reason()) {
            // The tool failed because its signal fired (it rejected with the abort
            // reason before we saw the signal): the abort is what happened.
            (Ok(Err(_)), Some(reason)) => Err(reason),
            (raced, _) => raced,
        };
        let result: Result<Called<V>, ToolError> = match raced {
            Ok(result) => result,
            Err(AbortReason::AttemptTimeout) => Err(ToolError::timeout(timeout_message)),
            // The run itself stopped: the permit drops unsettled (not the provider's fault).
            Err(reason) => return Err(Failure::from(ctx.stop_error(reason))),
        };
        let result = match (result, &ctx.stream) {
            (Ok(Called::Stream(opened)), Some(run)) => {
                let call = Draining {
                    entry,
                    attempt,
                    attempt_started,
                    calls: *calls,
                    has_fallback,
                    signal: call_signal,
                    permit,
                };
                return drain(ctx, run, call, opened).await;
            }
            (Ok(Called::Whole(out)), _) => Ok(out),
            (Ok(Called::Stream(_)), None) => Err(ToolError::invalid_output(
                &entry.tool_name,
                "a stream outside a streaming run",
            )),
            (Err(error), _) => Err(error),
        };

        match result {
            Ok(out) => {
                ctx.emit_breaker(permit.success());
                let charged = ctx.spend.borrow_mut().charge(out.usage, out.cost_usd);
                if let Err(exceeded) = charged {
                    return Err(Failure {
                        error: ctx.budget_error(exceeded),
                        output: Some(out.output),
                    });
                }
                let spend = ctx.spend.borrow();
                return Ok(ToolOutcome::Succeeded(Done {
                    output: out.output,
                    tool_name: entry.tool_name.clone(),
                    attempts: *calls,
                    cached: false,
                    usage: spend.usage(),
                    cost_usd: spend.cost_usd(),
                    finish_reason: None,
                    message: out.message,
                }));
            }
            Err(error) => {
                let transition = permit.failure(error.counts_against_provider());
                let opened = transition
                    .as_ref()
                    .is_some_and(|t| t.transition.to == CircuitState::Open);
                ctx.emit_breaker(transition);
                let charged = ctx.spend.borrow_mut().charge(error.usage, error.cost_usd);
                charged.map_err(|e| Failure::from(ctx.budget_error(e)))?;
                if let Some(exceeded) = error.budget_exceeded {
                    return Err(Failure::from(ctx.budget_error(*exceeded)));
                }
                let wall_now = inner.platform.clock.wall_ms();
                let decision = match inner
                    .retry
                    .decide(attempt, &error, wall_now, inner.platform.random.unit_f64())
                {
                    // This failure opened the breaker, or another run's did: a wait for a retry
                    // the breaker would refuse helps nobody, so go to the fallback now.
                    RetryDecision::Retry { .. } if opened || (has_fallback && inner.breakers.is_open(provider)) => {
                        RetryDecision::GiveUp(GiveUp::CircuitOpen)
                    }
                    decision => decision,
                };
                let category = error.category;
                *last_error = Some(error);
                let delay_ms = match decision {
                    RetryDecision::Fail => {
                        return Err(Failure::from(OrchestratorError::ToolExecution {
                            tool_name: entry.tool_name.clone(),
                            attempts: *calls,
                            category,
                            cause: last_error.clone().map(Box::new),
                        }))
                    }
                    RetryDecision::GiveUp(reason) => return Ok(ToolOutcome::GaveUp(reason)),
                    RetryDecision::Retry { delay_ms, .. } => delay_ms,
                };
                // No wait starts that cannot end in time: move on, or stop now.
                if let Some(deadline) = ctx.wait_passes_deadline(delay_ms) {
                    if has_fallback {
                        return Ok(ToolOutcome::GaveUp(GiveUp::NoTimeToWait));
                    }
                    return Err(Failure::from(ctx.stop_error(deadline.reason)));
                }
                let fits = ctx.spend.borrow().check_wait(delay_ms, ctx.now());
                if let Err(exceeded) = fits {
                    if has_fallback {
                        return Ok(ToolOutcome::GaveUp(GiveUp::NoTimeToWait));
                    }
                    return Err(Failure::from(ctx.budget_error(exceeded)));
                }
                ctx.emit(|| EventKind::Retry {
                    tool_name: entry.tool_name.clone(),
                    attempt,
                    delay_ms,
                    reason: category.as_str().into(),
                });
                until_aborted(&ctx.signal, inner.platform.sleeper.sleep(delay_ms))
                    .await
                    .map_err(|reason| Failure::from(ctx.stop_error(reason)))?;
            }
        }
    }
}
