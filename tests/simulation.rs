//! Deterministic fault simulation: randomized schedules of tool outcomes (success, 429 with and
//! without Retry-After, 5xx, timeouts, network errors, client errors), store faults (failing or
//! slow get / put / putIfAbsent / delete), concurrent and late duplicate keys, cancellations,
//! idempotency TTLs shorter than the runs, stores that keep records past their expiry (coarse
//! TTLs), and several isolates sharing an atomic store, all on a virtual clock with a seeded RNG. Every run is checked against the invariants users rely on;
//! a violation names its seed so `RO_SIM_SEED=<seed> RO_SIM_RUNS=1` replays it.
//!
//! `RO_SIM_RUNS` (default 100,000 runs) sets the size; a longer soak is `RO_SIM_RUNS=2000000`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::future::{self, Either, LocalBoxFuture};
use reliable_orchestrator::testing::{virtual_platform, VirtualClock};
use reliable_orchestrator::{
    AbortReason, AbortSignal, Clock, Event, EventKind, EventSink, KvStore, MemoryKv, Orchestrator, OrchestratorConfig,
    RetryHint, RunError, RunOptions, RunResult, Sleeper, Tool, ToolContext, ToolError, ToolErrorCategory, ToolEstimate,
    ToolOutput, Usage,
};
use serde_json::{json, Value};

#[path = "simulation/kv.rs"]
mod kv;
use kv::ChaosKv;

/// xorshift64*: the simulation's only source of randomness.
struct Rng(Cell<u64>);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(Cell::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1))
    }
    fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&self, p: f64) -> bool {
        self.unit() < p
    }
}

const TOKENS_PER_CALL: u64 = 100;

/// What the simulation watches: breaker states from events, calls in flight, violations.
struct World {
    seed: u64,
    rng: Rng,
    clock: Rc<VirtualClock>,
    breaker: RefCell<HashMap<String, String>>,
    half_open_in_flight: RefCell<HashMap<String, u32>>,
    half_open_max: u32,
    key_in_flight: RefCell<HashMap<String, u32>>,
    /// Keys whose result was recorded, and until when (monotonic ms): an
    /// execution before then is a double execution.
    recorded: RefCell<HashMap<String, f64>>,
    /// Tokens used by calls, per run (request id).
    tokens_by_run: RefCell<HashMap<String, u64>>,
    keyed_calls: Cell<u64>,
    store_failed_runs: RefCell<Vec<String>>,
    retry_delays: RefCell<Vec<f64>>,
    violations: RefCell<Vec<String>>,
}

impl World {
    fn violate(&self, what: String) {
        self.violations.borrow_mut().push(format!("seed {}: {what}", self.seed));
    }

    /// A run that executed and recorded its result holds its key for the TTL
    /// from about now: its expiry was set when the write began, at most one
    /// store operation ago (< 5 ms).
    fn note_recorded<T>(
        &self,
        request_id: &str,
        key: Option<&str>,
        outcome: &Result<RunResult<T>, RunError<T>>,
        ttl_ms: f64,
    ) {
        let executed = matches!(outcome, Ok(r) if !r.cached);
        let store_failed = self.store_failed_runs.borrow().iter().any(|id| id == request_id);
        if let (Some(key), true, false) = (key, executed, store_failed) {
            let until = self.clock.now_ms() + ttl_ms - 5.0;
            self.recorded.borrow_mut().insert(key.to_owned(), until);
        }
    }
}

impl EventSink for World {
    fn emit(&self, event: &Event) {
        match &event.kind {
            EventKind::Breaker {
                provider, to: Some(to), ..
            } => {
                self.breaker.borrow_mut().insert(provider.clone(), to.clone());
            }
            EventKind::Retry { delay_ms, .. } => self.retry_delays.borrow_mut().push(*delay_ms),
            EventKind::Idempotency { outcome, .. }
                if *outcome == reliable_orchestrator::IdempotencyOutcome::StoreFailed =>
            {
                if let Some(id) = &event.request_id {
                    self.store_failed_runs.borrow_mut().push(id.clone());
                }
            }
            _ => {}
        }
    }
}

/// Undoes a call's in-flight counts however the call ends (finished or dropped on abort).
struct InFlight {
    world: Rc<World>,
    provider: String,
    half_open: bool,
    key: Option<String>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.half_open {
            if let Some(n) = self.world.half_open_in_flight.borrow_mut().get_mut(&self.provider) {
                *n -= 1;
            }
        }
        if let Some(key) = &self.key {
            if let Some(n) = self.world.key_in_flight.borrow_mut().get_mut(key) {
                *n -= 1;
            }
        }
    }
}

/// A tool whose every call draws its outcome from the world's RNG.
struct ChaosTool {
    provider: String,
    world: Rc<World>,
}

impl Tool<Value> for ChaosTool {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn estimate(&self, _request: &Value, _options: &Value) -> ToolEstimate {
        ToolEstimate {
            tokens: Some(TOKENS_PER_CALL),
            ..ToolEstimate::default()
        }
    }

    fn execute(
        &self,
        request: &Value,
        _o: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<Value>, ToolError>> {
        let w = Rc::clone(&self.world);
        let state = w
            .breaker
            .borrow()
            .get(&self.provider)
            .cloned()
            .unwrap_or_else(|| "closed".into());
        if state == "open" {
            w.violate(format!(
                "a call to {} was admitted while its breaker is open",
                self.provider
            ));
        }
        let half_open = state == "half_open";
        if half_open {
            let mut counts = w.half_open_in_flight.borrow_mut();
            let n = counts.entry(self.provider.clone()).or_insert(0);
            *n += 1;
            if *n > w.half_open_max {
                w.violate(format!("{n} probes in flight on half-open {}", self.provider));
            }
        }
        let key = request.get("key").and_then(Value::as_str).map(str::to_owned);
        if let Some(key) = &key {
            w.keyed_calls.set(w.keyed_calls.get() + 1);
            let mut counts = w.key_in_flight.borrow_mut();
            let n = counts.entry(key.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                w.violate(format!("key {key} executing {n} times at once"));
            }
            if w.recorded
                .borrow()
                .get(key)
                .is_some_and(|until| w.clock.now_ms() < *until)
            {
                w.violate(format!("key {key} executed again after its result was recorded"));
            }
        }
        let guard = InFlight {
            world: Rc::clone(&w),
            provider: self.provider.clone(),
            half_open,
            key,
        };
        let roll = w.rng.unit();
        let delay = w.rng.below(40) as f64;
        let hint_ms = w.rng.below(4_000) as f64;
        let request_id = ctx.request_id.clone();
        let signal = ctx.signal.clone();
        let sleep = w.clock.sleep(delay);
        Box::pin(async move {
            let _guard = guard;
            let used = |w: &World| {
                *w.tokens_by_run.borrow_mut().entry(request_id.clone()).or_insert(0) += TOKENS_PER_CALL;
                Some(Usage::new(TOKENS_PER_CALL / 2, TOKENS_PER_CALL / 2, None))
            };
            if roll < 0.06 {
                // Hangs until its signal aborts (attempt timeout, deadline or cancellation).
                let reason = signal.aborted().await;
                return Err(ToolError::new(
                    ToolErrorCategory::Unknown,
                    format!("aborted: {reason:?}"),
                ));
            }
            if let Either::Right(_) = future::select(sleep, std::pin::pin!(signal.aborted())).await {
                return Err(ToolError::new(ToolErrorCategory::Unknown, "aborted"));
            }
            let fail = |status: u16| ToolError::from_status(status, format!("status {status}"));
            match roll {
                r if r < 0.50 => Ok(ToolOutput {
                    output: json!("ok"),
                    usage: used(&w),
                    cost_usd: None,
                    message: None,
                }),
                r if r < 0.60 => Err(fail(429).with_retry_hint(Some(RetryHint::DelayMs(hint_ms)))),
                r if r < 0.66 => Err(fail(429)),
                r if r < 0.78 => Err(fail(503).with_usage(used(&w), None)),
                r if r < 0.86 => Err(ToolError::network("connection reset")),
                r if r < 0.90 => Err(ToolError::timeout("408")),
                _ => Err(fail(400)),
            }
        })
    }
}

/// A finished run: request id, key, token budget, deadline, elapsed ms, cached or error code.
type Outcome = (
    String,
    Option<String>,
    Option<f64>,
    Option<f64>,
    f64,
    Result<bool, String>,
);

/// One scenario: a random configuration, then batches of concurrent runs. Returns runs made.
fn scenario(seed: u64, runs_wanted: u64) -> (u64, Vec<String>) {
    let clock = VirtualClock::new(1_700_000_000_000.0);
    let rng = Rng::new(seed);
    let max_delay = 0.5 + rng.below(30) as f64 / 10.0;
    let max_attempts = 1 + rng.below(4);
    let threshold = 1 + rng.below(5);
    let half_open_max = 1 + rng.below(2) as u32;
    let store_mode = rng.below(20);
    // Short TTLs against runs that last longer; stores that keep records past their expiry
    // (Workers KV's 60 s minimum); several isolates sharing an atomic store.
    let ttl_ms = if rng.chance(0.3) {
        10 + rng.below(400)
    } else {
        3_600_000
    };
    let coarse = rng.chance(0.3);
    let atomic = rng.chance(0.7);
    let isolates = if atomic { 1 + rng.below(3) } else { 1 };
    let world = Rc::new(World {
        seed,
        rng,
        clock: Rc::clone(&clock),
        breaker: RefCell::new(HashMap::new()),
        half_open_in_flight: RefCell::new(HashMap::new()),
        half_open_max,
        key_in_flight: RefCell::new(HashMap::new()),
        recorded: RefCell::new(HashMap::new()),
        tokens_by_run: RefCell::new(HashMap::new()),
        keyed_calls: Cell::new(0),
        store_failed_runs: RefCell::new(Vec::new()),
        retry_delays: RefCell::new(Vec::new()),
        violations: RefCell::new(Vec::new()),
    });
    let config = json!({
        "planner": { "rules": [{ "keywords": ["deep"], "toolName": "primary", "priority": 10 }] },
        "defaultTools": ["secondary", "tertiary"],
        "reliability": {
            "retryPolicy": { "maxAttempts": max_attempts, "initialDelay": 0.05, "maxDelay": max_delay, "backoffFactor": 2.0, "jitter": 0.3 },
            "circuitBreakers": { "default": { "failureThreshold": threshold, "timeout": 2.0, "windowSize": 10.0, "halfOpenMaxCalls": half_open_max } },
            "idempotencyEnabled": true,
            "idempotencyStoreFailure": "fail",
            "attemptTimeoutMs": 300,
            "idempotencyTtlMs": ttl_ms,
        },
    });
    let store = Rc::new(ChaosKv {
        inner: MemoryKv::new(clock.clone()),
        world: Rc::clone(&world),
        failure_rate: if store_mode < 4 { 0.2 } else { 0.0 },
        always_fail: store_mode == 4,
        atomic,
        coarse,
    });
    // Each isolate has its own breakers: its providers carry its number.
    let tool = |isolate: u64, provider: &str| {
        Rc::new(ChaosTool {
            provider: format!("i{isolate}-{provider}"),
            world: Rc::clone(&world),
        }) as Rc<dyn Tool<Value>>
    };
    let orchestrators: Vec<Orchestrator<Value>> = (0..isolates)
        .map(|i| {
            Orchestrator::builder(virtual_platform(&clock, seed + i))
                .config(OrchestratorConfig::from_json(&config).unwrap())
                .tool("primary", tool(i, "openai"))
                .tool("secondary", tool(i, "anthropic"))
                .tool("tertiary", tool(i, "openai"))
                .store(Rc::clone(&store) as Rc<dyn KvStore>)
                .events(Rc::clone(&world) as Rc<dyn EventSink>)
                .build()
                .unwrap()
        })
        .collect();

    let mut made = 0;
    let mut batch_no = 0u64;
    while made < runs_wanted {
        batch_no += 1;
        let batch = (1 + world.rng.below(12)).min(runs_wanted - made);
        let mut futures: Vec<LocalBoxFuture<'static, Outcome>> = Vec::new();
        for i in 0..batch {
            let keyed = world.rng.chance(0.6);
            let key = keyed.then(|| format!("k{}", world.rng.below(6)));
            let deep = world.rng.chance(0.5);
            let request = match &key {
                // One request per key, so a reused key is a replay, not a conflict.
                Some(k) => {
                    json!({ "key": k, "query": if k.ends_with(['0', '1', '2']) { "deep dive" } else { "quick" } })
                }
                None => json!({ "query": if deep { "deep dive" } else { "quick" } }),
            };
            let budget = world.rng.chance(0.3).then(|| 100.0 + world.rng.below(400) as f64);
            let timeout = world.rng.chance(0.3).then(|| 200.0 + world.rng.below(3_000) as f64);
            let request_id = format!("b{batch_no}-r{i}");
            let mut options = json!({ "requestId": request_id });
            if let Some(k) = &key {
                options["idempotencyKey"] = json!(k);
            }
            if let Some(b) = budget {
                options["budget"] = json!({ "tokens": b });
            }
            if let Some(t) = timeout {
                options["timeoutMs"] = json!(t);
            }
            let mut options = RunOptions::from_json(&options).unwrap();
            let signal = AbortSignal::new();
            options.signal = Some(signal.clone());
            // One run in ten is cancelled through its signal at a random time.
            let cancel = world.rng.chance(0.1).then(|| clock.sleep(world.rng.below(500) as f64));
            let orchestrator = &orchestrators[world.rng.below(isolates) as usize];
            let run = orchestrator.run(request, options);
            // Some runs start late, when earlier runs with their key may still be going.
            let start = world.rng.chance(0.4).then(|| clock.sleep(world.rng.below(800) as f64));
            let clock2 = Rc::clone(&clock);
            let world2 = Rc::clone(&world);
            futures.push(Box::pin(async move {
                if let Some(start) = start {
                    start.await;
                }
                let started = clock2.now_ms();
                let canceller = async move {
                    if let Some(sleep) = cancel {
                        sleep.await;
                        signal.abort(AbortReason::Aborted);
                    }
                    future::pending::<()>().await;
                };
                let outcome = match future::select(std::pin::pin!(run), std::pin::pin!(canceller)).await {
                    Either::Left((outcome, _)) => outcome,
                    Either::Right(_) => unreachable!(),
                };
                let elapsed = clock2.now_ms() - started;
                world2.note_recorded(&request_id, key.as_deref(), &outcome, ttl_ms as f64);
                (
                    request_id,
                    key,
                    budget,
                    timeout,
                    elapsed,
                    outcome.map(|r| r.cached).map_err(|e| e.error.code().to_owned()),
                )
            }));
        }
        let results = match clock.run_all(futures) {
            Ok(results) => results,
            Err(stall) => {
                world.violate(format!("batch {batch_no} never finished: {stall}"));
                break;
            }
        };
        for (request_id, _key, budget, timeout, elapsed, outcome) in results {
            made += 1;
            if let Some(t) = timeout {
                if elapsed > t + 1e-6 {
                    world.violate(format!("run {request_id} took {elapsed} ms past its {t} ms deadline"));
                }
            }
            let tokens = world.tokens_by_run.borrow().get(&request_id).copied().unwrap_or(0);
            if let Some(b) = budget {
                if tokens as f64 > b {
                    world.violate(format!("run {request_id} used {tokens} tokens of a {b} budget"));
                }
            }
            match &outcome {
                Ok(_) => {}
                Err(code) => {
                    let known = [
                        "tool_failed",
                        "budget_exceeded",
                        "conflict",
                        "timeout",
                        "aborted",
                        "store_failed",
                    ];
                    if !known.contains(&code.as_str()) {
                        world.violate(format!("run {request_id} ended with unexpected code {code}"));
                    }
                }
            }
        }
        // Let breaker timeouts and records age between batches.
        clock.advance(world.rng.below(3_000) as f64);
    }
    for delay in world.retry_delays.borrow().iter() {
        if *delay > max_delay * 1000.0 + 1e-6 {
            world.violate(format!("a wait of {delay} ms exceeds maxDelay {max_delay} s"));
        }
    }
    if store_mode == 4 && world.keyed_calls.get() > 0 {
        world.violate(format!(
            "{} keyed executions with a failing store and fail-closed config",
            world.keyed_calls.get()
        ));
    }
    let in_flight: usize = orchestrators.iter().map(Orchestrator::in_flight).sum();
    if in_flight != 0 {
        world.violate(format!("{in_flight} executions still registered after every run ended"));
    }
    let violations = world.violations.borrow().clone();
    (made, violations)
}

#[test]
fn simulated_faults_never_break_an_invariant() {
    let total: u64 = std::env::var("RO_SIM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let first_seed: u64 = std::env::var("RO_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(reliable_orchestrator::testing::test_seed);
    println!("simulation seeds from {first_seed} (RO_SIM_SEED, else RO_SEED)");
    let per_scenario = 200.min(total);
    let mut made = 0;
    let mut seed = first_seed;
    let mut violations = Vec::new();
    while made < total {
        let (runs, found) = scenario(seed, per_scenario.min(total - made));
        made += runs;
        violations.extend(found);
        if violations.len() > 20 {
            break;
        }
        seed += 1;
    }
    assert!(
        violations.is_empty(),
        "{} violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert!(made >= total, "only {made} runs");
    println!("{made} simulated runs over seeds {first_seed}..={seed}: no invariant broken");
}
