//! Shared set-up for the scenario tests: an orchestrator on a virtual clock
//! with scripted tools and an event recorder.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::rc::Rc;

use reliable_orchestrator::testing::{virtual_platform, RecordingSink, ScriptedTool, Step, VirtualClock};
use reliable_orchestrator::{KvStore, Orchestrator, OrchestratorConfig, RunError, RunOptions, RunResult, ToolError};
use serde_json::{json, Value};

pub const WALL_START: f64 = 1_700_000_000_000.0;

pub struct Harness {
    pub clock: Rc<VirtualClock>,
    pub events: Rc<RecordingSink>,
    pub orchestrator: Orchestrator<Value>,
}

pub fn clock() -> Rc<VirtualClock> {
    VirtualClock::new(WALL_START)
}

/// Builds an orchestrator from a JSON config and named tools.
pub fn harness(
    clock: &Rc<VirtualClock>,
    config: Value,
    tools: &[(&str, &Rc<ScriptedTool>)],
    store: Option<Rc<dyn KvStore>>,
) -> Harness {
    let tools = tools
        .iter()
        .map(|(name, tool)| (*name, Rc::clone(tool) as Rc<dyn reliable_orchestrator::Tool<Value>>))
        .collect();
    harness_with(clock, config, tools, store)
}

/// Builds an orchestrator from a JSON config and any tools.
pub fn harness_with(
    clock: &Rc<VirtualClock>,
    config: Value,
    tools: Vec<(&str, Rc<dyn reliable_orchestrator::Tool<Value>>)>,
    store: Option<Rc<dyn KvStore>>,
) -> Harness {
    let events = RecordingSink::new();
    let mut builder = Orchestrator::builder(virtual_platform(clock, 7))
        .config(OrchestratorConfig::from_json(&config).expect("config"))
        .events(events.clone());
    for (name, tool) in tools {
        builder = builder.tool(name, tool);
    }
    if let Some(store) = store {
        builder = builder.store(store);
    }
    Harness {
        clock: Rc::clone(clock),
        events,
        orchestrator: builder.build().expect("build"),
    }
}

impl Harness {
    pub fn run(&self, request: Value, options: Value) -> Result<RunResult<Value>, RunError<Value>> {
        let options = RunOptions::from_json(&options).expect("options");
        self.run_with(request, options)
    }

    /// A run with options built in Rust (a validator, say).
    pub fn run_with(&self, request: Value, options: RunOptions) -> Result<RunResult<Value>, RunError<Value>> {
        self.clock
            .run(self.orchestrator.run(request, options))
            .expect("run finishes")
    }

    /// One field of every event of `kind`, in order.
    pub fn field_of(&self, kind: &str, field: &str) -> Vec<Value> {
        self.events_of(kind).iter().map(|e| e[field].clone()).collect()
    }

    pub fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events.json().into_iter().filter(|e| e["type"] == kind).collect()
    }
}

pub fn tool(provider: &str, clock: &Rc<VirtualClock>) -> Rc<ScriptedTool> {
    Rc::new(ScriptedTool::new(provider, clock))
}

pub fn fail(status: u16) -> Step {
    Step::Fail(ToolError::from_status(status, format!("status {status}")))
}

pub fn ok(output: &str) -> Step {
    Step::Ok(json!(output))
}

/// A config with no jitter so delays are exact.
pub fn exact_retry(max_attempts: u32) -> Value {
    json!({ "maxAttempts": max_attempts, "initialDelay": 1.0, "maxDelay": 30.0, "backoffFactor": 2.0, "jitter": 0.0 })
}

/// Proptest settings for the scenario tests: a fixed seed ([`test_seed`]: `RO_SEED` or the
/// default), printed so a failure's output names the seed that replays it.
#[cfg(not(target_arch = "wasm32"))]
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    let seed = reliable_orchestrator::testing::test_seed();
    eprintln!("proptest seed: RO_SEED={seed}");
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
