//! The bindings of the TypeScript driver (`js/driver.ts`): a table of runs,
//! each a [`RunMachine`], fed by synchronous calls that carry numbers and
//! answer with a packed action. The driver awaits tools and timers in the
//! host's own event loop; nothing here awaits, and no closure or promise is
//! made on the common path. A built-in provider tool's call is an exchange
//! (`exchange.rs`): its HTTP request built here, sent by the driver. Keyed,
//! streaming and `validate` runs, and plans that reach a bundle or a validated
//! built-in tool, answer [`SLOW`]: the driver hands them to the async Rust
//! driver (`WasmOrchestrator::run`), which drives the same machine.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

mod exchange;
mod ids;
mod keyed;
mod reads;
mod table;

use table::Parsed;
use table::{pack, tool_of, Last, Slot, CALL, DONE, FAIL, HANDLE_MASK, HAS_DEADLINE, HAS_IDS, HAS_MESSAGE};
pub use table::{Driven, Plans};
use table::{HAS_OPTIONS, HAS_SIGNAL, HAS_SPEND, HAS_TIMEOUT, KEEP_OUTPUT, SLOW, WAIT};

use super::signal::JsSignal;

use super::convert;
use super::errors::tool_error_from_js;
use super::guard::describe;
use super::js_tool::output_from_js;
use super::js_value::JsPayload;
use super::WasmOrchestrator;
use crate::model::error::ToolError;
use crate::orchestrator::{Orchestrator, RunOptions};
use crate::platform::{AbortReason, Usage};
use crate::run::{Action, Call};
use crate::trace::TraceIds;

impl WasmOrchestrator {
    /// Applies `input` to run `handle`'s machine, reports its events, and
    /// packs the action it answers; a run that ends leaves its table slot.
    /// The listener runs after the table is released: it may start runs of its own.
    fn step(&self, handle: u32, input: impl FnOnce(&Orchestrator<JsPayload>, &mut Slot) -> Action) -> u32 {
        let mut events = None;
        let code = self.step_quietly(handle, input, &mut events);
        if let Some((ids, events)) = events {
            // A run that ended left its outcome for the driver to read as soon as this
            // returns: kept from the runs the listener may end meanwhile.
            let ended = code & 7 >= DONE;
            let kept = ended.then(|| self.driven.borrow_mut().take_last());
            self.inner.emit_events(ids.as_ref(), events);
            if let Some(kept) = kept {
                self.driven.borrow_mut().put_last(kept);
            }
        }
        code
    }

    /// Which run holds `handle` now (see [`Slot::serial`]).
    fn serial(&self, handle: u32) -> Option<u32> {
        self.driven.borrow_mut().slot(handle).map(|s| s.serial)
    }

    /// [`Self::step`] if `handle` still holds run `serial`, read before user
    /// code ran; else a stale input, answered as a run that is no more.
    fn step_of(
        &self,
        handle: u32,
        serial: Option<u32>,
        input: impl FnOnce(&Orchestrator<JsPayload>, &mut Slot) -> Action,
    ) -> u32 {
        if serial.is_none() || self.serial(handle) != serial {
            return pack(FAIL, 0, 0, 0);
        }
        self.step(handle, input)
    }

    fn step_quietly(
        &self,
        handle: u32,
        input: impl FnOnce(&Orchestrator<JsPayload>, &mut Slot) -> Action,
        events: &mut Option<(Option<TraceIds>, Vec<crate::model::event::EventKind>)>,
    ) -> u32 {
        let mut driven = self.driven.borrow_mut();
        let Some(slot) = driven.slot(handle) else {
            return pack(FAIL, 0, 0, 0);
        };
        let action = input(&self.inner, slot);
        if slot.machine.has_events() {
            *events = Some((slot.ids.clone(), slot.machine.take_events()));
        }
        let code = match action {
            Action::Call(call) => {
                let tool = tool_of(&slot.machine, call.step);
                let options = slot.candidates.get(call.step).is_some_and(|e| !e.options.is_null());
                let flags =
                    if options { HAS_OPTIONS } else { 0 } | if call.timeout_ms.is_some() { HAS_TIMEOUT } else { 0 };
                let code = pack(CALL, tool, call.attempt, flags);
                slot.call = Some(call);
                return code;
            }
            Action::Wait { delay_ms } => {
                slot.wait_ms = delay_ms;
                return pack(WAIT, 0, 0, 0);
            }
            Action::Done(done) => {
                let tool = tool_of(&slot.machine, done.step);
                let spent = done.usage != Usage::default() || done.cost_usd.is_some();
                let flags = if spent { HAS_SPEND } else { 0 } | if slot.message.is_some() { HAS_MESSAGE } else { 0 };
                driven.last = Last {
                    usage: done.usage,
                    cost_usd: done.cost_usd,
                    message: slot.message.take(),
                    error: None,
                };
                pack(DONE, tool, done.attempts, flags)
            }
            Action::Fail(failed) => {
                let flags = if failed.keep_output { KEEP_OUTPUT } else { 0 };
                driven.last = Last {
                    error: Some(failed.error),
                    ..Last::default()
                };
                pack(FAIL, 0, 0, flags)
            }
        };
        driven.remove(handle);
        code
    }

    /// The run's ids: the options' (checked), else the driver's request id when it
    /// passed one (for events), else none yet. `Err`: an id is invalid.
    fn ids_of(
        &self,
        options: &RunOptions<JsPayload>,
        from_options: bool,
        request_id: Option<String>,
    ) -> Result<Option<TraceIds>, ()> {
        if !from_options && request_id.is_none() {
            return Ok(None);
        }
        let rid = options.request_id.as_deref().or(request_id.as_deref());
        let random = self.inner.platform().random.as_ref();
        let (ids, invalid) =
            TraceIds::checked(options.trace_id.as_deref(), rid, options.traceparent.as_deref(), random);
        match invalid {
            Some(_) => Err(()),
            None => Ok(Some(ids)),
        }
    }

    /// Plans a run: the handle and its flags, or [`SLOW`]. A run that cannot
    /// begin (bad options, no tool) is [`SLOW`] too: the Rust driver reports
    /// it, with its ids, exactly as it reports every such error.
    fn begin_run(
        &self,
        request: JsValue,
        raw_options: &JsValue,
        parsed: Parsed,
        now: f64,
        request_id: Option<String>,
    ) -> u32 {
        // Options handed over are kept for the Rust driver's `run` right after (the table is
        // borrowed only then: planning runs user code, which may start runs of its own).
        let hand_over = |parsed: Parsed| {
            self.driven.borrow_mut().hand_over(raw_options, parsed);
            SLOW
        };
        let (options, signal) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => return hand_over(Err(error)),
        };
        // A signal that has already fired (or cannot be read) is the Rust driver's to report.
        if options.validate.is_some() || signal.as_ref().is_some_and(JsSignal::aborted) {
            return hand_over(Ok((options, signal)));
        }
        let from_options = options.trace_id.is_some() || options.request_id.is_some() || options.traceparent.is_some();
        let Ok(ids) = self.ids_of(&options, from_options, request_id) else {
            return hand_over(Ok((options, signal)));
        };
        let flags = if from_options { HAS_IDS } else { 0 } | if signal.is_some() { HAS_SIGNAL } else { 0 };
        let target = signal.as_ref().map(|s| s.target().clone());
        let request = JsPayload(request);
        match self.plan_into(&request, &request, &options, now, ids, target) {
            SLOW => hand_over(Ok((options, signal))),
            begun => begun | flags,
        }
    }

    /// Plans `request` (its rules read `planned`: see [`Orchestrator::begin`])
    /// into a new slot of the table: its handle (with [`HAS_DEADLINE`]), or
    /// [`SLOW`] for a run the Rust driver performs. The table is not borrowed
    /// while planning: rules and estimates read the request (getters,
    /// `toJSON`), which may start runs of its own.
    fn plan_into(
        &self,
        planned: &impl crate::model::payload::Payload,
        request: &JsPayload,
        options: &RunOptions<JsPayload>,
        now: f64,
        ids: Option<TraceIds>,
        signal: Option<JsValue>,
    ) -> u32 {
        let plans = &self.plans;
        let Ok(Some(begun)) = self
            .inner
            .begin(planned, request, options, now, &plans.cache, &|s| plans.drivable(s))
        else {
            return SLOW;
        };
        let deadline = if begun.limits.deadline.is_some() {
            HAS_DEADLINE
        } else {
            0
        };
        let slot = Slot {
            machine: begun.machine,
            candidates: begun.candidates,
            ids,
            signal,
            call: None,
            wait_ms: 0.0,
            message: None,
            read: None,
            serial: 0,
        };
        self.driven
            .borrow_mut()
            .insert(slot)
            .map_or(SLOW, |handle| handle | deadline)
    }
}

impl WasmOrchestrator {
    fn call_tool_name(&self, handle: u32) -> String {
        let mut driven = self.driven.borrow_mut();
        let entry = driven.slot(handle).and_then(|s| s.entry());
        entry.map(|e| e.tool_name.clone()).unwrap_or_default()
    }
}

fn stop_reason(code: u32) -> AbortReason {
    match code {
        2 => AbortReason::Deadline,
        3 => AbortReason::TimeBudget,
        _ => AbortReason::Aborted,
    }
}

#[wasm_bindgen]
impl WasmOrchestrator {
    /// Plans and starts a run for the TypeScript driver: `handle * 2^32 +
    /// first action`, the handle with flags (bit 18: ids came from the
    /// options, bit 19: it has a deadline, bit 20: a signal to follow); or -1
    /// for the Rust driver (keyed runs, `validate`, a signal that has already
    /// fired, a bundle or validated tool in the plan, a run that cannot begin).
    pub fn begin(&self, request: JsValue, options: JsValue, now: f64, request_id: Option<String>) -> f64 {
        // Options are read (guarded, getters and all) before the table is borrowed.
        let parsed = convert::run_options_from_js(&options);
        let begun = self.begin_run(request, &options, parsed, now, request_id);
        self.started(begun, now)
    }

    /// [`Self::begin`] for the commonest run, in numbers only: no options, no
    /// listener, a planner without rules and no tool whose estimate reads the
    /// request, so nothing reads it.
    #[wasm_bindgen(js_name = beginDefault)]
    pub fn begin_default(&self, now: f64) -> f64 {
        let request = JsPayload(JsValue::UNDEFINED);
        let begun = self.plan_into(&request, &request, &RunOptions::default(), now, None, None);
        self.started(begun, now)
    }

    /// [`Self::begin`] without options for a planner that reads only a
    /// request's `query` ([`Self::plans_by_query`]): `query` is that string,
    /// passed as a string (a read of it from wasm costs a call into JS and
    /// back). Nothing else reads the request. `request_id` as for `begin`.
    #[wasm_bindgen(js_name = beginQuery)]
    pub fn begin_query(&self, query: String, now: f64, request_id: Option<String>) -> f64 {
        let options = RunOptions::default();
        let Ok(ids) = self.ids_of(&options, false, request_id) else {
            return -1.0;
        };
        let planned = serde_json::Value::String(query);
        let request = JsPayload(JsValue::UNDEFINED);
        let begun = self.plan_into(&planned, &request, &options, now, ids, None);
        self.started(begun, now)
    }

    /// Whether [`Self::begin_default`] serves runs without options: the
    /// planner has no rules and nobody listens.
    #[wasm_bindgen(js_name = plansByDefault)]
    pub fn plans_by_default(&self) -> bool {
        !self.inner.listening() && self.inner.plans_without_request()
    }

    /// Whether the rules read only a request's `query`: the driver may then
    /// pass the string it holds (an own data property) in the request's place
    /// to [`Self::begin`], which plans a string as its `query`.
    #[wasm_bindgen(js_name = plansByQuery)]
    pub fn plans_by_query(&self) -> bool {
        self.inner.plans_by_query()
    }

    /// Starts the machine of a run `begin` planned: `begun * 2^32 + first action`, or -1.
    fn started(&self, begun: u32, now: f64) -> f64 {
        if begun == SLOW {
            return -1.0;
        }
        let first = self.step(begun & HANDLE_MASK, |o, s| s.machine.start(o.policies(), now));
        f64::from(begun) * 4_294_967_296.0 + f64::from(first)
    }

    /// Input: the call answered a plain `{ output }` (nothing else to read).
    pub fn succeed(&self, handle: u32, now: f64) -> u32 {
        self.step(handle, |_, s| s.machine.succeeded(now, None, None))
    }

    /// Input: the call answered `value`, which also carries usage, cost or a
    /// message (read and checked here), or is not plainly `{ output }`.
    #[wasm_bindgen(js_name = succeedWith)]
    pub fn succeed_with(&self, handle: u32, value: JsValue, now: f64) -> u32 {
        let serial = self.serial(handle);
        let name = self.call_tool_name(handle);
        let read = output_from_js(&name, value);
        self.step_of(handle, serial, |o, s| match read {
            Ok(out) => {
                s.message = out.message;
                s.machine.succeeded(now, out.usage, out.cost_usd)
            }
            Err(error) => failed(o, s, now, error),
        })
    }

    /// Input: the call threw or rejected with `thrown` (`broken`: its
    /// promise's `then` threw).
    pub fn fail(&self, handle: u32, thrown: JsValue, broken: bool, now: f64) -> u32 {
        // Classified (reading the thrown value's properties) before the table is borrowed.
        let serial = self.serial(handle);
        let error = if broken {
            let message = format!("its promise is broken: {}", describe(&thrown));
            ToolError::invalid_output(&self.call_tool_name(handle), message).with_retryable(false)
        } else {
            tool_error_from_js(thrown)
        };
        self.step_of(handle, serial, |o, s| failed(o, s, now, error))
    }

    /// Input: the call passed its attempt timeout.
    #[wasm_bindgen(js_name = timedOut)]
    pub fn timed_out(&self, handle: u32, now: f64) -> u32 {
        self.step(handle, |o, s| {
            let error = s
                .call
                .as_ref()
                .map_or_else(|| ToolError::timeout("attempt timed out"), Call::timeout_error);
            failed(o, s, now, error)
        })
    }

    /// Input: the wait ended.
    pub fn wake(&self, handle: u32, now: f64) -> u32 {
        self.step(handle, |o, s| s.machine.woke(o.policies(), now))
    }

    /// Input: the run stopped (1: its signal, 2: `timeoutMs`, 3: `budget.timeMs`).
    pub fn stop(&self, handle: u32, reason: u32, now: f64) -> u32 {
        self.step(handle, |_, s| s.machine.stopped(now, stop_reason(reason)))
    }
}

fn failed(o: &Orchestrator<JsPayload>, s: &mut Slot, now: f64, error: ToolError) -> Action {
    let unit = o.platform().random.unit_f64();
    let wall = o.platform().clock.wall_ms();
    s.machine.failed(o.policies(), now, wall, unit, error)
}
