//! The async Rust driver of the run machine: it performs the machine's
//! actions (call a tool raced against its timeout and the run's signal,
//! sleep, drain a stream) and feeds back what happened. It decides nothing:
//! every decision is [`RunMachine`]'s.

use std::rc::Rc;

use futures::future::{self, Either, FutureExt, LocalBoxFuture};

use super::context::RunContext;
use super::streaming::{drain, first_chunk, Draining, Opened};
use super::{Done, Failure};
use crate::model::error::{OrchestratorError, ToolError};
use crate::model::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::{check_output, AbortReason, AbortSignal, Tool, ToolContext, ToolOutput};
use crate::reliability::timeout::{until_aborted, watchdog};
use crate::run::{Action, Call, RunMachine};

/// What one call answered: a whole output, or a stream past its first chunk
/// (with the call's signal, which stops its upstream, and its start time).
enum Called<V> {
    Whole(ToolOutput<V>),
    Stream(Opened, AbortSignal, f64),
}

/// How performing a call ended.
enum Performed<V> {
    Answered(Result<Called<V>, ToolError>),
    Stopped(AbortReason),
}

/// The output of the last call that answered whole, and its message.
type Last<V> = Option<(V, Option<serde_json::Value>)>;

/// What performing one action led to: the machine's next action, or a
/// stream that finished the run.
enum Next<V> {
    Act(Action),
    Finished(Done<V>),
}

/// Runs the plan built from `candidates` until a tool succeeds or the plan is spent.
pub(super) async fn execute<V: Payload>(
    ctx: &RunContext<V>,
    request: &V,
    candidates: Vec<PlanEntry>,
) -> Result<Done<V>, Failure<V>> {
    let inner = Rc::clone(&ctx.inner);
    let p = inner.policies();
    let mut machine = machine_for(ctx, request, &candidates);
    let mut action = machine.start(p, ctx.now());
    let mut last: Last<V> = None;
    loop {
        ctx.emit_all(machine.take_events());
        action = match action {
            Action::Call(call) => match call_step(ctx, request, &candidates, &mut machine, &call, &mut last).await? {
                Next::Act(next) => next,
                Next::Finished(done) => return Ok(done),
            },
            Action::Wait { delay_ms } => {
                match until_aborted(&ctx.signal, inner.platform.sleeper.sleep(delay_ms)).await {
                    Ok(()) => machine.woke(p, ctx.now()),
                    Err(reason) => machine.stopped(ctx.now(), reason),
                }
            }
            Action::Done(s) => {
                // `Done` only ever answers a call that returned an output.
                let (output, message) = last.ok_or(OrchestratorError::Aborted)?;
                return Ok(Done {
                    output,
                    tool_name: candidates.get(s.step).map(|e| e.tool_name.clone()).unwrap_or_default(),
                    attempts: s.attempts,
                    cached: false,
                    usage: s.usage,
                    cost_usd: s.cost_usd,
                    finish_reason: None,
                    message,
                });
            }
            Action::Fail(failed) => {
                return Err(Failure {
                    error: failed.error,
                    output: last.filter(|_| failed.keep_output).map(|(output, _)| output),
                })
            }
        };
    }
}

/// Performs `call` and feeds its outcome to the machine.
async fn call_step<V: Payload>(
    ctx: &RunContext<V>,
    request: &V,
    candidates: &[PlanEntry],
    machine: &mut RunMachine,
    call: &Call,
    last: &mut Last<V>,
) -> Result<Next<V>, Failure<V>> {
    let inner = &ctx.inner;
    let p = inner.policies();
    let entry = candidates.get(call.step).ok_or(OrchestratorError::NoTool)?;
    let tool = inner.tools.get(&entry.tool_name).ok_or_else(|| {
        Failure::from(OrchestratorError::UnknownTool {
            tool_name: entry.tool_name.clone(),
        })
    })?;
    let next = match perform(ctx, tool.as_ref(), request, entry, call, machine).await {
        Performed::Stopped(reason) => machine.stopped(ctx.now(), reason),
        Performed::Answered(Ok(Called::Whole(out))) => {
            *last = Some((out.output, out.message));
            machine.succeeded(ctx.now(), out.usage, out.cost_usd)
        }
        Performed::Answered(Ok(Called::Stream(opened, signal, started))) => {
            let stream = StreamCall {
                opened,
                signal,
                started,
            };
            match stream_rest(ctx, machine, entry, call, stream).await? {
                Ok(done) => return Ok(Next::Finished(done)),
                Err(reason) => machine.left(p, ctx.now(), reason),
            }
        }
        Performed::Answered(Err(error)) => {
            let unit = inner.platform.random.unit_f64();
            machine.failed(p, ctx.now(), inner.platform.clock.wall_ms(), unit, error)
        }
    };
    Ok(Next::Act(next))
}

/// Races `work` against the call's timeout and the run's signal.
async fn race<V: Payload, T>(
    ctx: &RunContext<V>,
    call: &Call,
    call_signal: &AbortSignal,
    work: LocalBoxFuture<'_, Result<T, ToolError>>,
) -> Result<Result<T, ToolError>, AbortReason> {
    let guarded = until_aborted(call_signal, work);
    let raced = match call.timeout_ms {
        Some(ms) => {
            let sleeper = Rc::clone(&ctx.inner.platform.sleeper);
            let timer = watchdog(sleeper, ms, call_signal.clone(), AbortReason::AttemptTimeout);
            match future::select(std::pin::pin!(guarded), std::pin::pin!(timer)).await {
                Either::Left((raced, _)) => raced,
                Either::Right(((), _)) => Err(AbortReason::AttemptTimeout),
            }
        }
        None => guarded.await,
    };
    match (raced, call_signal.reason()) {
        // The tool failed because its signal fired (it rejected with the abort
        // reason before we saw the signal): the abort is what happened.
        (Ok(Err(_)), Some(reason)) => Err(reason),
        (raced, _) => raced,
    }
}

/// A streaming call past its first chunk: what drain needs of it.
struct StreamCall {
    opened: Opened,
    signal: AbortSignal,
    started: f64,
}

/// Delivers the rest of a stream; `Ok(Err(reason))`: it broke and the run
/// goes on with the next tool.
async fn stream_rest<V: Payload>(
    ctx: &RunContext<V>,
    machine: &mut RunMachine,
    entry: &PlanEntry,
    call: &Call,
    stream: StreamCall,
) -> Result<Result<Done<V>, crate::reliability::GiveUp>, Failure<V>> {
    let Some(permit) = machine.take_permit() else {
        return Err(Failure::from(OrchestratorError::Aborted));
    };
    let draining = Draining {
        entry,
        attempt: call.attempt,
        attempt_started: stream.started,
        calls: call.calls,
        has_fallback: call.has_fallback,
        signal: stream.signal,
        permit,
    };
    let run = ctx.stream.as_deref().ok_or(OrchestratorError::Aborted)?;
    drain(ctx, run, machine, draining, stream.opened).await
}

/// The machine for this run: the candidates with their providers and estimates.
fn machine_for<V: Payload>(ctx: &RunContext<V>, request: &V, candidates: &[PlanEntry]) -> RunMachine {
    let steps =
        super::driven::steps_of(&ctx.inner, request, candidates, &|_| true).map_or_else(Vec::new, |(steps, _)| steps);
    RunMachine::new(steps, ctx.spend.clone(), ctx.limits, ctx.inner.events.is_some())
}

/// Calls the tool of `call`, raced against its timeout and the run's signal.
async fn perform<V: Payload>(
    ctx: &RunContext<V>,
    tool: &dyn Tool<V>,
    request: &V,
    entry: &PlanEntry,
    call: &Call,
    machine: &RunMachine,
) -> Performed<V> {
    let inner = &ctx.inner;
    // A call nothing can end gets a quiet signal: its host need not make it cancellable.
    let call_signal = if ctx.abortable || call.timeout_ms.is_some() {
        ctx.signal.child()
    } else {
        AbortSignal::quiet()
    };
    let tool_ctx = ToolContext {
        trace_id: ctx.ids.trace_id.clone(),
        request_id: ctx.ids.request_id.clone(),
        attempt: call.attempt,
        tool_name: entry.tool_name.clone(),
        traceparent: ctx.ids.traceparent(&*inner.platform.random),
        signal: call_signal.clone(),
        spend: machine.spend().clone(),
        partial: ctx.stream.as_ref().and_then(|run| run.partial()),
    };
    let started = ctx.now();
    let work: LocalBoxFuture<'_, Result<Called<V>, ToolError>> = match &ctx.stream {
        None => {
            let answer = tool.execute(request, &entry.options, tool_ctx);
            let validator = ctx.validate.clone();
            let name = entry.tool_name.clone();
            Box::pin(async move { check_output(validator, &name, answer.await?).await.map(Called::Whole) })
        }
        Some(_) => {
            let signal = call_signal.clone();
            let opened = first_chunk(tool.stream(request, &entry.options, tool_ctx));
            Box::pin(opened.map(move |r| r.map(|opened| Called::Stream(opened, signal, started))))
        }
    };
    let raced = race(ctx, call, &call_signal, work).await;
    match raced {
        Ok(answer) => Performed::Answered(answer.and_then(|called| match (called, &ctx.stream) {
            (Called::Stream(..), None) => Err(ToolError::invalid_output(
                &entry.tool_name,
                "a stream outside a streaming run",
            )),
            (called, _) => Ok(called),
        })),
        Err(AbortReason::AttemptTimeout) => Performed::Answered(Err(call.timeout_error())),
        Err(reason) => Performed::Stopped(reason),
    }
}
