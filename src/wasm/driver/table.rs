//! The table of runs the TypeScript driver performs, the JS tools it calls,
//! and the packed action codes the two sides agree on (`js/driver.ts` keeps
//! the same constants).

use wasm_bindgen::JsValue;

use super::super::convert::HostTools;
use super::super::js_kv::JsStore;
use super::super::js_value::JsPayload;
use super::super::signal::JsSignal;
use crate::model::error::OrchestratorError;
use crate::orchestrator::{Orchestrator, PlanCache, Prefetched, RunOptions};
use crate::planning::PlanEntry;
use crate::platform::{ReadAnswer, Tool, Usage};
use crate::run::{Call, RunMachine};
use crate::trace::TraceIds;
use serde_json::Value;

/// `begin`'s answer for a run the Rust driver performs.
pub const SLOW: u32 = u32::MAX;

// Action codes: the kind in bits 0-2.
pub const CALL: u32 = 1;
pub const WAIT: u32 = 2;
pub const DONE: u32 = 3;
pub const FAIL: u32 = 4;
// CALL: tool index in bits 3-12, attempt from bit 16; flags:
pub const HAS_OPTIONS: u32 = 1 << 13;
pub const HAS_TIMEOUT: u32 = 1 << 14;
// DONE: tool index in bits 3-12, attempts from bit 16; flags:
pub const HAS_SPEND: u32 = 1 << 13;
pub const HAS_MESSAGE: u32 = 1 << 14;
// FAIL: the last output goes with the error.
pub const KEEP_OUTPUT: u32 = 1 << 3;
// `begin` flags above the handle (bits 0-17); the whole stays below 2^21, so
// `begun * 2^32 + action` is exact in an f64 (below 2^53).
pub const HAS_IDS: u32 = 1 << 18;
pub const HAS_DEADLINE: u32 = 1 << 19;
pub const HAS_SIGNAL: u32 = 1 << 20;
pub const HANDLE_MASK: u32 = (1 << 18) - 1;
const MAX_RUNS: usize = HANDLE_MASK as usize - 1;

/// One run in flight.
pub struct Slot {
    pub machine: RunMachine,
    pub candidates: std::rc::Rc<[PlanEntry]>,
    pub ids: Option<TraceIds>,
    pub signal: Option<JsValue>,
    pub call: Option<Call>,
    pub wait_ms: f64,
    pub message: Option<Value>,
    /// A built-in tool's call under way: how its answer is read.
    pub read: Option<ReadAnswer<JsPayload>>,
    /// Which run holds the slot (set by [`Driven::insert`]): an input read
    /// after user code ran, which may have ended the run and begun another
    /// in its slot, is applied only to the same run.
    pub serial: u32,
}

impl Slot {
    /// The candidate of the call under way.
    pub fn entry(&self) -> Option<&PlanEntry> {
        self.call.as_ref().and_then(|c| self.candidates.get(c.step))
    }
}

/// What the last run to end left for the driver to read at once.
#[derive(Default)]
pub struct Last {
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub message: Option<Value>,
    pub error: Option<OrchestratorError>,
}

/// A tool the TypeScript driver performs.
pub enum HostTool {
    /// A JS tool: its name, `this` and `execute`, called by the driver.
    Js(String, JsValue, js_sys::Function),
    /// A built-in tool that is one HTTP exchange: the driver sends its
    /// request with `fetch`, the tool reads the answer.
    Exchange(String, std::rc::Rc<dyn Tool<JsPayload>>),
}

/// The runs the TypeScript driver performs, and the tools it performs.
#[derive(Default)]
pub struct Driven {
    /// By the orchestrator's tool index (`Step::tool`); `None` for a tool
    /// only the Rust driver performs (a bundle, a validated tool).
    pub tools: Vec<Option<HostTool>>,
    pub slots: Vec<Option<Slot>>,
    pub free: Vec<usize>,
    pub last: Last,
    /// The output of the built-in call that answered last, for the driver to take.
    pub output: JsValue,
    /// The serial of the last run inserted.
    serials: u32,
    /// The options `begin` read for a run it handed to the Rust driver, with
    /// the object they came from: `run` right after takes them instead of
    /// reading the object again.
    pub handed: Option<Handed>,
    /// The store, when it is a JS one: the driver reads keyed runs' records (`keyed.rs`).
    pub store: Option<std::rc::Rc<JsStore>>,
    /// Keyed runs whose record the driver is reading.
    pub reads: super::keyed::Reads,
}

/// What planning a driven run reads, apart from the table: planning runs
/// user code (a request's getters, `toJSON`), which may start runs of its own.
pub struct Plans {
    /// The plans this driver performs, shared by the runs that match the same rules.
    pub cache: PlanCache,
    /// By tool index: whether this driver performs the tool.
    host: Vec<bool>,
}

impl Plans {
    /// The plans of the tools `driven` performs.
    pub fn of(driven: &Driven) -> Self {
        Self {
            cache: PlanCache::default(),
            host: driven.tools.iter().map(Option::is_some).collect(),
        }
    }

    /// Whether this driver performs `step` (its tool index must fit the 10 bits of an action code).
    pub fn drivable(&self, step: &crate::run::Step) -> bool {
        step.tool <= 0x3ff && self.host.get(step.tool).copied().unwrap_or(false)
    }
}

/// Options read by `begin` for the Rust driver (or why they cannot be used).
pub type Parsed = Result<(RunOptions<JsPayload>, Option<JsSignal>), OrchestratorError>;

/// Options read by `begin` for the Rust driver, and the object they came from.
pub struct Handed {
    pub raw: JsValue,
    pub parsed: Parsed,
    /// A keyed run's plan and record read (`keyed.rs`).
    pub prefetched: Option<Prefetched>,
}

impl Driven {
    /// The table for `orchestrator`, whose JS tools are `host`.
    pub fn new(
        orchestrator: &Orchestrator<JsPayload>,
        mut host: HostTools,
        store: Option<std::rc::Rc<JsStore>>,
    ) -> Self {
        let tools = orchestrator
            .tool_names()
            .into_iter()
            .map(|name| match host.remove(&name) {
                Some((this, execute)) => Some(HostTool::Js(name, this, execute)),
                None => {
                    let tool = orchestrator.tool(&name).filter(|t| t.exchanging().is_some());
                    tool.map(|t| HostTool::Exchange(name, std::rc::Rc::clone(t)))
                }
            })
            .collect();
        Self {
            tools,
            store,
            ..Self::default()
        }
    }

    /// What the last run to end left (and the last built-in output), taken.
    pub fn take_last(&mut self) -> (Last, JsValue) {
        (
            std::mem::take(&mut self.last),
            std::mem::replace(&mut self.output, JsValue::UNDEFINED),
        )
    }

    /// Puts back what [`Self::take_last`] took.
    pub fn put_last(&mut self, (last, output): (Last, JsValue)) {
        self.last = last;
        self.output = output;
    }

    /// Keeps the options `begin` read for the run it hands to the Rust driver.
    pub fn hand_over(&mut self, raw: &JsValue, parsed: Parsed) {
        self.handed = Some(Handed {
            raw: raw.clone(),
            parsed,
            prefetched: None,
        });
    }

    /// The options `begin` read from `raw` (and a keyed run's plan and read),
    /// if it was the last object it handed over.
    pub fn take_handed(&mut self, raw: &JsValue) -> Option<(Parsed, Option<Prefetched>)> {
        let handed = self.handed.take()?;
        js_sys::Object::is(&handed.raw, raw).then_some((handed.parsed, handed.prefetched))
    }

    pub fn insert(&mut self, mut slot: Slot) -> Option<u32> {
        self.serials = self.serials.wrapping_add(1);
        slot.serial = self.serials;
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.slots.len() < MAX_RUNS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        *self.slots.get_mut(index)? = Some(slot);
        u32::try_from(index + 1).ok()
    }

    pub fn slot(&mut self, handle: u32) -> Option<&mut Slot> {
        let index = ((handle & HANDLE_MASK) as usize).checked_sub(1)?;
        self.slots.get_mut(index)?.as_mut()
    }

    /// Ends run `handle`: its slot is dropped where it is (not moved out first).
    pub fn remove(&mut self, handle: u32) {
        let Some(index) = ((handle & HANDLE_MASK) as usize).checked_sub(1) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(index).filter(|s| s.is_some()) {
            *slot = None;
            self.free.push(index);
        }
    }
}

/// The orchestrator's index of the tool of candidate `step`.
pub fn tool_of(machine: &RunMachine, step: usize) -> u32 {
    let tool = machine.steps().get(step).map_or(0, |s| s.tool);
    u32::try_from(tool).unwrap_or(0)
}

pub fn pack(kind: u32, index: u32, count: u32, flags: u32) -> u32 {
    kind | ((index & 0x3ff) << 3) | flags | (count.min(0xffff) << 16)
}
