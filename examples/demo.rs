//! The main demo: a scripted day in the life of the orchestrator, on a
//! virtual clock, printed as a timeline. Shows a plan, retries with their
//! delays (one from a `Retry-After`), a breaker opening and the fallback
//! taking over, an idempotent replay, the breaker recovering, and a budget
//! stop. Run with `make demo`.

use std::rc::Rc;

use reliable_orchestrator::testing::{virtual_platform, ScriptedTool, Step, VirtualClock};
use reliable_orchestrator::{
    Clock, Event, EventKind, EventSink, Orchestrator, OrchestratorConfig, RetryHint, RunOptions, ToolError, Usage,
};
use serde_json::{json, Value};

/// Prints each event as one timeline line, time relative to the demo start.
struct Timeline {
    clock: Rc<VirtualClock>,
}

impl EventSink for Timeline {
    fn emit(&self, event: &Event) {
        let t = self.clock.now_ms() / 1000.0;
        let line = match &event.kind {
            EventKind::Plan {
                tool_name,
                fallbacks,
                rule,
                skipped,
            } => format!(
                "plan        -> {tool_name} (rule: {}){}{}",
                rule.as_deref().unwrap_or("default"),
                if fallbacks.is_empty() {
                    String::new()
                } else {
                    format!(", fallbacks: {}", fallbacks.join(", "))
                },
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(", skipped (circuit open): {}", skipped.join(", "))
                },
            ),
            EventKind::Attempt { tool_name, attempt, .. } => format!("attempt     {tool_name} #{attempt}"),
            EventKind::Retry {
                tool_name,
                attempt,
                delay_ms,
                reason,
            } => {
                format!(
                    "retry       {tool_name} #{attempt} failed ({reason}); waiting {:.1}s",
                    delay_ms / 1000.0
                )
            }
            EventKind::Fallback { from, to, reason } => format!("fallback    {from} -> {to} ({reason})"),
            EventKind::FirstChunk { tool_name, ttft_ms, .. } => {
                format!("first chunk {tool_name} after {ttft_ms:.0} ms")
            }
            EventKind::StreamEnd { chunks, .. } => format!("stream end  {chunks} chunk(s)"),
            EventKind::StreamInterrupted { tool_name, reason } => format!("interrupted {tool_name} ({reason})"),
            EventKind::Breaker {
                provider,
                from,
                to,
                reason,
                ..
            } => format!(
                "breaker     {provider}: {} -> {} ({})",
                from.as_deref().unwrap_or("?"),
                to.as_deref().unwrap_or("?"),
                reason.as_deref().unwrap_or("")
            ),
            EventKind::Idempotency { outcome, key } => format!("idempotency {key}: {outcome}"),
            EventKind::Budget {
                budget_type,
                limit,
                spent,
                ..
            } => format!("budget      {budget_type} exceeded: {spent} of {limit}"),
        };
        println!("  [{t:>7.3}s] {line}");
    }
}

fn main() {
    if let Err(message) = demo() {
        eprintln!("demo failed: {message}");
        std::process::exit(1);
    }
}

fn demo() -> Result<(), String> {
    let clock = VirtualClock::new(1_764_072_000_000.0);
    let rate_limited = ToolError::from_status(429, "rate limited").with_retry_hint(RetryHint::parse_retry_after("2"));
    let deep = Rc::new(
        ScriptedTool::new("openai", &clock)
            .then(Step::Fail(ToolError::from_status(503, "overloaded")))
            .then(Step::Fail(rate_limited))
            .then(Step::OkWithUsage(
                json!("Markets trend up (deep analysis)"),
                Usage::new(420, 180, None),
                Some(0.012),
            ))
            .then(Step::Fail(ToolError::from_status(500, "outage")))
            .then(Step::Fail(ToolError::from_status(502, "outage")))
            .otherwise(Step::OkWithUsage(
                json!("Recovered deep analysis"),
                Usage::new(400, 200, None),
                Some(0.012),
            )),
    );
    let fallback = Rc::new(ScriptedTool::new("anthropic", &clock).otherwise(Step::OkWithUsage(
        json!("Quick answer (fallback model)"),
        Usage::new(300, 100, None),
        Some(0.004),
    )));
    let validator = Rc::new(ScriptedTool::new("local", &clock).otherwise(Step::Ok(json!({ "valid": true }))));
    let config = OrchestratorConfig::from_json(&json!({
        "planner": { "rules": [
            { "keywords": ["deep", "comprehensive"], "attribute": "query", "toolName": "deep_analysis", "priority": 20 },
            { "requestType": "validation", "toolName": "validator", "priority": 10 },
        ]},
        "defaultTools": ["fallback_model"],
        "reliability": {
            "retryPolicy": { "maxAttempts": 3, "initialDelay": 1.0, "maxDelay": 30.0, "backoffFactor": 2.0, "jitter": 0.1 },
            "circuitBreakers": { "openai": { "failureThreshold": 4, "timeout": 60, "windowSize": 300 } },
            "idempotencyTtlMs": 3_600_000,
        },
    }))
    .map_err(|e| e.to_string())?;
    let orchestrator: Orchestrator<Value> = Orchestrator::builder(virtual_platform(&clock, 42))
        .config(config)
        .tool("deep_analysis", deep.clone())
        .tool("fallback_model", fallback.clone())
        .tool("validator", validator)
        .events(Rc::new(Timeline { clock: clock.clone() }))
        .build()
        .map_err(|e| e.to_string())?;

    let run = |title: &str, request: Value, options: Value| -> Result<(), String> {
        println!("\n== {title}");
        let options = RunOptions::from_json(&options).map_err(|e| e.to_string())?;
        match clock.run(orchestrator.run(request, options))? {
            Ok(r) => println!(
                "  => {} from {} after {} call(s){} in {:.1}s, {} tokens, ${:.3}",
                r.output,
                r.tool_name,
                r.attempts,
                if r.cached { " [cached replay]" } else { "" },
                r.elapsed_ms / 1000.0,
                r.usage.total_tokens,
                r.cost_usd.unwrap_or(0.0),
            ),
            Err(e) => match &e.output {
                Some(output) => println!("  => {} error: {} (output kept: {output})", e.code(), e.error),
                None => println!("  => {} error: {}", e.code(), e.error),
            },
        }
        Ok(())
    };

    println!("reliable-orchestrator demo (virtual clock: waits take no real time)");
    run(
        "1. Retries: a 503, then a 429 with Retry-After: 2",
        json!({ "type": "analysis", "query": "Deep dive into market trends" }),
        json!({ "requestId": "req-1" }),
    )?;
    run(
        "2. Validation request goes to its type rule",
        json!({ "type": "validation", "query": "check this" }),
        json!({}),
    )?;
    run(
        "3. Outage: failures open the openai breaker, the fallback answers",
        json!("A comprehensive report"),
        json!({}),
    )?;
    run(
        "4. Breaker open: the plan skips deep_analysis",
        json!("Another deep question"),
        json!({}),
    )?;
    run(
        "5. Idempotent run",
        json!("Deep question with a key"),
        json!({ "idempotencyKey": "analysis-123" }),
    )?;
    run(
        "6. Same key again: replayed, nothing executed",
        json!("Deep question with a key"),
        json!({ "idempotencyKey": "analysis-123" }),
    )?;
    run(
        "7. Same key, other request: conflict",
        json!("Something else entirely"),
        json!({ "idempotencyKey": "analysis-123" }),
    )?;
    clock.advance(60_000.0);
    run(
        "8. 60 s later: a half-open probe succeeds and closes the breaker",
        json!("Deep analysis, take two"),
        json!({}),
    )?;
    run(
        "9. Budget: 500 tokens cannot cover the answer",
        json!("Deep and expensive"),
        json!({ "budget": { "tokens": 500 } }),
    )?;

    println!();
    for (provider, state) in orchestrator.circuit_states() {
        println!(
            "breaker {provider}: {} ({} of {} failures in window)",
            state.state.as_str(),
            state.failures,
            state.failure_threshold
        );
    }
    println!(
        "calls made: deep_analysis {}, fallback_model {}",
        deep.call_count(),
        fallback.call_count()
    );
    Ok(())
}
