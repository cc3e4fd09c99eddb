//! Streaming runs: the attempt loop calls a tool's stream instead of its
//! whole answer, and this module handles the two phases of each call.
//!
//! Before the first chunk with text the call is an attempt like any other
//! ([`first_chunk`]): failures are retried, fall back, count against the
//! breaker, and the consumer sees none of it. After it ([`drain`]), text has
//! been delivered, so nothing restarts silently: chunks are counted against
//! the budget as they arrive, a gap past `idleTimeoutMs` or an error ends the
//! stream as interrupted (counted against the breaker), and the run either
//! fails with `StreamInterrupted` or, with `onInterrupt: "continue"`, goes on
//! to the plan's next tool with the text so far as its prefix.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::{self, Either};
use futures::StreamExt;
use serde_json::Value;

use super::context::RunContext;
use super::{Done, Failure};
use crate::model::error::{OrchestratorError, ToolError};
use crate::model::event::EventKind;
use crate::model::payload::Payload;
use crate::planning::PlanEntry;
use crate::platform::{
    AbortReason, AbortSignal, Chunk, ChunkSink, ChunkStream, InterruptReason, OnInterrupt, ToolEstimate, Usage,
};
use crate::reliability::timeout::until_aborted;
use crate::reliability::{GiveUp, Permit};
use crate::run::RunMachine;

/// A streaming run's settings and the text it has delivered.
pub(super) struct StreamRun {
    sink: Rc<dyn ChunkSink>,
    idle_timeout_ms: Option<f64>,
    on_interrupt: OnInterrupt,
    started: f64,
    text: RefCell<String>,
    chunks: Cell<u32>,
    /// Runs in this isolate that joined this one's keyed execution.
    followers: RefCell<Vec<Rc<StreamRun>>>,
}

impl StreamRun {
    pub fn new(sink: Rc<dyn ChunkSink>, idle_timeout_ms: Option<f64>, on_interrupt: OnInterrupt, started: f64) -> Self {
        Self {
            sink,
            idle_timeout_ms,
            on_interrupt,
            started,
            text: RefCell::new(String::new()),
            chunks: Cell::new(0),
            followers: RefCell::new(Vec::new()),
        }
    }

    /// The text delivered so far, for a tool continuing an interrupted stream.
    pub fn partial(&self) -> Option<String> {
        Some(self.text.borrow().clone()).filter(|t| !t.is_empty())
    }

    fn deliver(&self, text: &str) {
        if !text.is_empty() {
            self.text.borrow_mut().push_str(text);
            self.chunks.set(self.chunks.get() + 1);
            self.sink.chunk(text);
            let followers = self.followers.borrow().clone();
            for follower in followers {
                follower.deliver(text);
            }
        }
    }

    /// `follower` joined this run's execution: it receives the text so far at
    /// once, then every chunk as it comes. Should this run stop on its own
    /// account, the follower taking over continues from that text (its
    /// `partial`), so its consumer never sees text twice.
    pub fn add_follower(&self, follower: Rc<StreamRun>) {
        let so_far = self.text.borrow().clone();
        follower.deliver(&so_far);
        self.followers.borrow_mut().push(follower);
    }
}

/// A streaming call that delivered its first chunk with text.
pub(super) struct Opened {
    first: Chunk,
    /// Usage and cost of the chunks before it (usage-only chunks).
    before: (Option<Usage>, Option<f64>),
    rest: ChunkStream,
}

/// Reads `stream` up to its first chunk with text.
///
/// # Errors
/// The tool's failure, or `no_terminal` when the stream ends with no text.
pub(super) async fn first_chunk(mut stream: ChunkStream) -> Result<Opened, ToolError> {
    let mut usage: Option<Usage> = None;
    let mut cost: Option<f64> = None;
    loop {
        match stream.next().await {
            Some(Ok(chunk)) if !chunk.text.is_empty() => {
                return Ok(Opened {
                    first: chunk,
                    before: (usage, cost),
                    rest: stream,
                })
            }
            Some(Ok(chunk)) => {
                add_usage(&mut usage, chunk.usage);
                cost = add_cost(cost, chunk.cost_usd);
                if chunk.finish_reason.is_some() {
                    // Finished with no text at all: an empty answer, complete.
                    return Ok(Opened {
                        first: chunk,
                        before: (usage, cost),
                        rest: futures::stream::empty().boxed_local(),
                    });
                }
            }
            Some(Err(error)) => return Err(error),
            None => {
                return Ok(Opened {
                    first: Chunk::default(),
                    before: (usage, cost),
                    rest: futures::stream::empty().boxed_local(),
                })
            }
        }
    }
}

fn add_usage(total: &mut Option<Usage>, more: Option<Usage>) {
    if let Some(more) = more {
        total.get_or_insert_with(Usage::default).add(&more);
    }
}

fn add_cost(total: Option<f64>, more: Option<f64>) -> Option<f64> {
    match (total, more) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// One streaming call, past its first chunk.
pub(super) struct Draining<'a> {
    pub entry: &'a PlanEntry,
    pub attempt: u32,
    pub attempt_started: f64,
    pub calls: u32,
    pub has_fallback: bool,
    pub signal: AbortSignal,
    pub permit: Permit,
}

/// How reading the next chunk ended.
enum Next {
    Chunk(Chunk),
    End,
    Failed(ToolError),
    Idle,
    Stopped(AbortReason),
}

async fn next_chunk<V: Payload>(
    ctx: &RunContext<V>,
    run: &StreamRun,
    rest: &mut ChunkStream,
    signal: &AbortSignal,
) -> Next {
    let read = async {
        match run.idle_timeout_ms {
            None => Some(rest.next().await),
            Some(ms) => {
                let idle = ctx.inner.platform.sleeper.sleep(ms);
                match future::select(rest.next(), idle).await {
                    Either::Left((item, _)) => Some(item),
                    Either::Right(((), _)) => None,
                }
            }
        }
    };
    match until_aborted(signal, read).await {
        Err(reason) => Next::Stopped(reason),
        Ok(None) => Next::Idle,
        Ok(Some(None)) => Next::End,
        Ok(Some(Some(Ok(chunk)))) => Next::Chunk(chunk),
        Ok(Some(Some(Err(error)))) => Next::Failed(error),
    }
}

/// Delivers the rest of an opened stream, to its end or its interruption.
///
/// # Errors
/// `StreamInterrupted`, `BudgetExceeded` or the run's stop, with the partial text as output.
pub(super) async fn drain<V: Payload>(
    ctx: &RunContext<V>,
    run: &StreamRun,
    machine: &mut RunMachine,
    call: Draining<'_>,
    opened: Opened,
) -> Result<Result<Done<V>, GiveUp>, Failure<V>> {
    let Opened {
        first,
        before,
        mut rest,
    } = opened;
    let mut reported_usage = before.0.is_some();
    let mut since_usage = 0usize;
    charge(ctx, run, machine, &call, before.0, before.1)?;
    if !first.text.is_empty() {
        ctx.emit(|| EventKind::FirstChunk {
            tool_name: call.entry.tool_name.clone(),
            attempt: call.attempt,
            ttft_ms: ctx.now() - call.attempt_started,
        });
    }
    let mut finish_reason = None;
    let mut next = Next::Chunk(first);
    loop {
        match next {
            Next::Chunk(chunk) => {
                run.deliver(&chunk.text);
                since_usage += chunk.text.len();
                reported_usage |= chunk.usage.is_some();
                if chunk.usage.is_some() {
                    since_usage = 0;
                }
                finish_reason = chunk.finish_reason.or(finish_reason);
                charge(ctx, run, machine, &call, chunk.usage, chunk.cost_usd)?;
                if !reported_usage || since_usage > 0 {
                    check_estimate(ctx, run, machine, &call, since_usage)?;
                }
            }
            Next::End => return complete(ctx, run, machine, call, finish_reason),
            Next::Failed(error) => return interrupted(ctx, run, machine, call, error.interrupt_reason(), Some(error)),
            Next::Idle => return interrupted(ctx, run, machine, call, InterruptReason::IdleTimeout, None),
            Next::Stopped(reason) => return Err(with_partial(run, ctx.stop_error(reason))),
        }
        next = next_chunk(ctx, run, &mut rest, &call.signal).await;
    }
}

/// Charges what a chunk reports; past a limit the upstream is stopped.
fn charge<V: Payload>(
    ctx: &RunContext<V>,
    run: &StreamRun,
    machine: &mut RunMachine,
    call: &Draining<'_>,
    usage: Option<Usage>,
    cost_usd: Option<f64>,
) -> Result<(), Failure<V>> {
    if usage.is_none() && cost_usd.is_none() {
        return Ok(());
    }
    let charged = machine.spend_mut().charge(usage, cost_usd);
    charged.map_err(|exceeded| {
        call.signal.abort(AbortReason::Superseded);
        with_partial(run, ctx.budget_error(exceeded))
    })
}

/// Until the provider reports usage, the text's own size (about 4 bytes a
/// token) is what the stream has used: past the token budget it stops.
fn check_estimate<V: Payload>(
    ctx: &RunContext<V>,
    run: &StreamRun,
    machine: &RunMachine,
    call: &Draining<'_>,
    unreported_bytes: usize,
) -> Result<(), Failure<V>> {
    let estimate = ToolEstimate {
        tokens: Some(unreported_bytes.div_ceil(4) as u64),
        ..ToolEstimate::default()
    };
    let checked = machine.spend().check_spend(&estimate);
    checked.map_err(|exceeded| {
        call.signal.abort(AbortReason::Superseded);
        with_partial(run, ctx.budget_error(exceeded))
    })
}

fn with_partial<V: Payload>(run: &StreamRun, error: OrchestratorError) -> Failure<V> {
    Failure {
        error,
        output: V::from_json(Value::String(run.text.borrow().clone())).ok(),
    }
}

fn complete<V: Payload>(
    ctx: &RunContext<V>,
    run: &StreamRun,
    machine: &RunMachine,
    call: Draining<'_>,
    finish_reason: Option<String>,
) -> Result<Result<Done<V>, GiveUp>, Failure<V>> {
    ctx.emit_breaker(call.permit.success());
    ctx.emit(|| EventKind::StreamEnd {
        chunks: run.chunks.get(),
        elapsed_ms: ctx.now() - run.started,
    });
    let text = run.text.borrow().clone();
    // The normalised assistant message, as the built-in tools give for whole answers.
    let message = serde_json::json!({ "text": text, "toolCalls": [], "refusal": null, "finishReason": finish_reason });
    let output =
        V::from_json(Value::String(text)).map_err(|m| Failure::from(OrchestratorError::config("output", m)))?;
    let spend = machine.spend();
    Ok(Ok(Done {
        output,
        tool_name: call.entry.tool_name.clone(),
        attempts: call.calls,
        cached: false,
        usage: spend.usage(),
        cost_usd: spend.cost_usd(),
        finish_reason,
        message: Some(message),
    }))
}

fn interrupted<V: Payload>(
    ctx: &RunContext<V>,
    run: &StreamRun,
    machine: &RunMachine,
    call: Draining<'_>,
    reason: InterruptReason,
    cause: Option<ToolError>,
) -> Result<Result<Done<V>, GiveUp>, Failure<V>> {
    // Stop the upstream (a stalled or broken call), then count it: a stream
    // that breaks after it began is the provider's failure.
    call.signal.abort(AbortReason::Superseded);
    ctx.emit_breaker(call.permit.failure(true));
    ctx.emit(|| EventKind::StreamInterrupted {
        tool_name: call.entry.tool_name.clone(),
        reason,
    });
    if run.on_interrupt == OnInterrupt::Continue && call.has_fallback {
        return Ok(Err(GiveUp::StreamInterrupted));
    }
    let error = OrchestratorError::StreamInterrupted {
        tool_name: call.entry.tool_name.clone(),
        attempts: call.calls,
        reason,
        partial: run.text.borrow().clone(),
        usage: machine.spend().usage(),
        cause: cause.map(Box::new),
    };
    Err(with_partial(run, error))
}
