//! A tool that follows a script, and remembers how it was called.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde_json::Value;

use super::VirtualClock;
use crate::model::error::ToolError;
use crate::platform::{
    whole_as_stream, Chunk, ChunkStream, Sleeper, Tool, ToolContext, ToolEstimate, ToolOutput, Usage,
};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Step {
    /// Succeed with this output.
    Ok(Value),
    /// Succeed with this output, usage and cost.
    OkWithUsage(Value, Usage, Option<f64>),
    /// Fail with this error.
    Fail(ToolError),
    /// Wait this many (virtual) ms, then take the inner step.
    After(f64, Box<Step>),
    /// Never answer on its own; fail as soon as the call's signal aborts
    /// (as a JS tool that rejects with `signal.reason` does).
    FailOnAbort,
    /// Answer as a stream (a whole step taken by a streaming run yields one chunk).
    Stream(Vec<Piece>),
}

/// One piece of a scripted stream.
#[derive(Clone, Debug)]
pub enum Piece {
    /// A chunk of text.
    Text(String),
    /// A chunk reporting usage (an increment).
    Usage(Usage),
    /// Wait this many (virtual) ms.
    Wait(f64),
    /// End the stream with this error.
    Fail(ToolError),
    /// Never yield again (until the call is aborted).
    Stall,
}

/// How the tool was called once.
#[derive(Clone)]
pub struct Call {
    /// The request.
    pub request: Value,
    /// The options.
    pub options: Value,
    /// The context.
    pub ctx: ToolContext,
    /// Monotonic time of the call.
    pub at: f64,
}

/// A [`Tool`] that answers from a script, then repeats its `otherwise` step.
pub struct ScriptedTool {
    provider: String,
    clock: Rc<VirtualClock>,
    steps: RefCell<VecDeque<Step>>,
    otherwise: Step,
    estimate: ToolEstimate,
    calls: RefCell<Vec<Call>>,
}

impl ScriptedTool {
    /// A tool of `provider` that succeeds with `"ok"` until scripted otherwise.
    pub fn new(provider: &str, clock: &Rc<VirtualClock>) -> Self {
        Self {
            provider: provider.to_owned(),
            clock: Rc::clone(clock),
            steps: RefCell::new(VecDeque::new()),
            otherwise: Step::Ok(Value::String("ok".into())),
            estimate: ToolEstimate::default(),
            calls: RefCell::new(Vec::new()),
        }
    }

    /// Adds a step to the script.
    pub fn then(self, step: Step) -> Self {
        self.steps.borrow_mut().push_back(step);
        self
    }

    /// The step taken once the script is used up.
    pub fn otherwise(mut self, step: Step) -> Self {
        self.otherwise = step;
        self
    }

    /// What budget pre-checks are told a call may use.
    pub fn with_estimate(mut self, estimate: ToolEstimate) -> Self {
        self.estimate = estimate;
        self
    }

    /// Calls made so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// Records a call and takes its step (the script's next, else `otherwise`).
    fn take_step(&self, request: &Value, options: &Value, ctx: ToolContext) -> (Step, crate::platform::AbortSignal) {
        let signal = ctx.signal.clone();
        self.calls.borrow_mut().push(Call {
            request: request.clone(),
            options: options.clone(),
            ctx,
            at: crate::platform::Clock::now_ms(&*self.clock),
        });
        let step = self
            .steps
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| self.otherwise.clone());
        (step, signal)
    }

    /// Number of calls made so far.
    pub fn call_count(&self) -> usize {
        self.calls.borrow().len()
    }
}

impl Tool<Value> for ScriptedTool {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn execute(
        &self,
        request: &Value,
        options: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<Value>, ToolError>> {
        let (step, signal) = self.take_step(request, options, ctx);
        let clock = Rc::clone(&self.clock);
        Box::pin(async move {
            let mut step = step;
            while let Step::After(ms, inner) = step {
                clock.sleep(ms).await;
                step = *inner;
            }
            match step {
                Step::Ok(output) => Ok(ToolOutput {
                    output,
                    usage: None,
                    cost_usd: None,
                    message: None,
                }),
                Step::OkWithUsage(output, usage, cost_usd) => Ok(ToolOutput {
                    output,
                    usage: Some(usage),
                    cost_usd,
                    message: None,
                }),
                Step::Fail(error) => Err(error),
                Step::FailOnAbort => {
                    signal.aborted().await;
                    Err(ToolError::new(
                        crate::ToolErrorCategory::Unknown,
                        "AbortError: the call was aborted",
                    ))
                }
                Step::After(..) => Err(ToolError::client("unreachable step")),
                Step::Stream(pieces) => {
                    let text: String = pieces
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Text(t) => Some(t.as_str()),
                            _ => None,
                        })
                        .collect();
                    Ok(ToolOutput {
                        output: Value::String(text),
                        usage: None,
                        cost_usd: None,
                        message: None,
                    })
                }
            }
        })
    }

    fn estimate(&self, _request: &Value, _options: &Value) -> ToolEstimate {
        self.estimate.clone()
    }

    fn stream(&self, request: &Value, options: &Value, ctx: ToolContext) -> ChunkStream {
        let scripted = matches!(self.steps.borrow().front(), Some(Step::Stream(_)))
            || (self.steps.borrow().is_empty() && matches!(self.otherwise, Step::Stream(_)));
        if !scripted {
            return whole_as_stream(self.execute(request, options, ctx));
        }
        let (step, signal) = self.take_step(request, options, ctx);
        let Step::Stream(pieces) = step else {
            return futures::stream::empty().boxed_local();
        };
        let clock = Rc::clone(&self.clock);
        futures::stream::unfold(VecDeque::from(pieces), move |mut pieces| {
            let clock = Rc::clone(&clock);
            let signal = signal.clone();
            async move {
                loop {
                    let chunk = match pieces.pop_front()? {
                        Piece::Wait(ms) => {
                            clock.sleep(ms).await;
                            continue;
                        }
                        Piece::Stall => {
                            signal.aborted().await;
                            return None;
                        }
                        Piece::Text(text) => Ok(Chunk {
                            text,
                            ..Chunk::default()
                        }),
                        Piece::Usage(usage) => Ok(Chunk {
                            usage: Some(usage),
                            ..Chunk::default()
                        }),
                        Piece::Fail(error) => {
                            pieces.clear();
                            Err(error)
                        }
                    };
                    return Some((chunk, pieces));
                }
            }
        })
        .boxed_local()
    }
}
