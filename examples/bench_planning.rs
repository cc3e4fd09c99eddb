//! Plan time against the number of rules, natively (release build):
//! `cargo run --release --example bench_planning` prints JSON lines
//! `{ "rules": n, "us": median µs per plan }`. Rules are keyword rules that
//! do not match, so every rule is tried before the default tool.

use std::rc::Rc;
use std::time::Instant;

use reliable_orchestrator::testing::{virtual_platform, ScriptedTool, VirtualClock};
use reliable_orchestrator::{Orchestrator, OrchestratorConfig};
use serde_json::json;

fn main() {
    let clock = VirtualClock::new(0.0);
    for n in [10usize, 100, 1_000, 10_000] {
        let rules: Vec<_> = (0..n)
            .map(|i| json!({ "keywords": [format!("never-{i}")], "attribute": "query", "toolName": "t", "priority": i % 7 }))
            .collect();
        let Ok(config) =
            OrchestratorConfig::from_json(&json!({ "planner": { "rules": rules }, "defaultTools": ["t"] }))
        else {
            return;
        };
        let Ok(orchestrator) = Orchestrator::builder(virtual_platform(&clock, 1))
            .config(config)
            .tool("t", Rc::new(ScriptedTool::new("p", &clock)))
            .build()
        else {
            return;
        };
        let request = json!({ "query": "Analyze the market trends in depth" });
        let rounds = (200_000 / n).clamp(20, 20_000);
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let started = Instant::now();
            let planned = orchestrator.plan(&request);
            samples.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(planned.ok());
        }
        samples.sort_by(f64::total_cmp);
        let median = samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN);
        println!("{{\"rules\": {n}, \"us\": {median:.3}}}");
    }
}
