//! Admission, retry delays, `Retry-After` hints, fallbacks, non-retryable
//! failures, usage across attempts, and a run nobody listens to.

use reliable_orchestrator::{RetryHint, Usage};

use super::*;

#[test]
fn a_closed_breaker_admits_the_primary() {
    let rig = rig(3);
    let mut first = primary();
    first.rule = Some("deep".into());
    let mut m = rig.machine(vec![first, backup()]);
    assert_eq!(call(rig.start(&mut m)), plain_call(0, 1, 1, true));
    let plan = EventKind::Plan {
        tool_name: "primary".into(),
        fallbacks: vec!["backup".into()],
        rule: Some("deep".into()),
        skipped: vec![],
    };
    assert_eq!(m.take_events(), vec![plan, attempt("primary", 1)]);
    assert_eq!(rig.state("openai").state, CircuitState::Closed);
}

#[test]
fn a_call_times_out_at_the_shorter_of_attempt_and_first_chunk_limits() {
    let rig = rig(3);
    let timeout = |attempt: Option<f64>, first: Option<f64>| {
        let limits = Limits {
            attempt_timeout_ms: attempt,
            first_chunk_timeout_ms: first,
            ..Limits::default()
        };
        let c = call(rig.start(&mut rig.machine_with(vec![primary()], Budget::default(), limits)));
        (c.timeout_ms, c.first_chunk)
    };
    assert_eq!(timeout(Some(5000.0), Some(2000.0)), (Some(2000.0), true));
    assert_eq!(timeout(Some(1000.0), Some(2000.0)), (Some(1000.0), false));
    assert_eq!(timeout(None, Some(2000.0)), (Some(2000.0), true));
    assert_eq!(timeout(Some(1000.0), None), (Some(1000.0), false));
}

#[test]
fn retry_delays_grow_by_the_factor_up_to_max_delay() {
    let config = RetryConfig {
        max_attempts: 6,
        initial_delay: 1.0,
        max_delay: 10.0,
        backoff_factor: 3.0,
        ..retry(6)
    };
    let rig = Rig::new(config, breaker(100));
    let mut m = rig.machine(vec![primary()]);
    rig.start(&mut m);
    m.take_events();
    // The n-th retry waits min(maxDelay, initialDelay * factor^(n-1)).
    for (n, expected) in (1u32..).zip([1000.0, 3000.0, 9000.0, 10_000.0, 10_000.0]) {
        assert_eq!(wait(rig.fail(&mut m, down())), expected, "retry {n}");
        assert_eq!(
            m.take_events(),
            vec![retried("primary", n, expected, ToolErrorCategory::Server)]
        );
        assert_eq!(call(rig.wake(&mut m, expected)), plain_call(0, n + 1, n + 1, false));
        assert_eq!(m.take_events(), vec![attempt("primary", n + 1)]);
    }
    let (tool, calls, category, cause) = tool_failed(rig.fail(&mut m, down()));
    assert_eq!(
        (tool.as_str(), calls, category),
        ("primary", 6, ToolErrorCategory::Server)
    );
    assert_eq!(cause.as_deref(), Some("server (503): down"));
    assert_eq!(m.take_events(), vec![]);
}

#[test]
fn jitter_shortens_the_wait_by_the_drawn_fraction() {
    let rig = Rig::new(
        RetryConfig {
            jitter: 0.5,
            ..retry(3)
        },
        breaker(100),
    );
    let mut m = rig.machine(vec![primary()]);
    rig.start(&mut m);
    let delay = wait(m.failed(rig.p(), rig.now(), rig.clock.wall_ms(), 0.5, down()));
    assert_eq!(delay, 750.0, "1000 ms shortened by 0.5 * 0.5");
}

fn rate_limited(hint: RetryHint) -> ToolError {
    ToolError::from_status(429, "slow down").with_retry_hint(Some(hint))
}

#[test]
fn a_retry_after_hint_within_max_delay_replaces_the_delay() {
    let rig = rig(3);
    let mut m = rig.machine(vec![primary()]);
    rig.start(&mut m);
    m.take_events();
    assert_eq!(wait(rig.fail(&mut m, rate_limited(RetryHint::DelayMs(5000.0)))), 5000.0);
    assert_eq!(
        m.take_events(),
        vec![retried("primary", 1, 5000.0, ToolErrorCategory::RateLimit)]
    );
    call(rig.wake(&mut m, 5000.0));
    // An HTTP-date hint is resolved against the wall time the driver passes.
    let at = rate_limited(RetryHint::AtWallMs(rig.clock.wall_ms() + 7000.0));
    assert_eq!(wait(rig.fail(&mut m, at)), 7000.0);
}

#[test]
fn a_hint_past_max_delay_leaves_for_the_fallback() {
    let rig = rig(3);
    let mut m = rig.machine(vec![primary(), backup()]);
    rig.start(&mut m);
    m.take_events();
    let next = rig.fail(&mut m, rate_limited(RetryHint::DelayMs(31_000.0)));
    assert_eq!(call(next), plain_call(1, 1, 2, false));
    let left = fallback("primary", "backup", GiveUp::RetryAfterTooLong(31_000.0));
    assert_eq!(m.take_events(), vec![left, attempt("backup", 1)]);
}

#[test]
fn a_hint_past_max_delay_without_a_fallback_fails() {
    let rig = rig(3);
    let mut m = rig.machine(vec![primary()]);
    rig.start(&mut m);
    m.take_events();
    let (tool, calls, category, cause) = tool_failed(rig.fail(&mut m, rate_limited(RetryHint::DelayMs(31_000.0))));
    assert_eq!(
        (tool.as_str(), calls, category),
        ("primary", 1, ToolErrorCategory::RateLimit)
    );
    assert_eq!(cause.as_deref(), Some("rate_limit (429): slow down"));
    assert_eq!(m.take_events(), vec![]);
}

#[test]
fn exhausted_retries_fall_back_and_the_fallback_answers() {
    let rig = rig(2);
    let mut m = rig.machine(vec![primary(), backup()]);
    rig.start(&mut m);
    assert_eq!(wait(rig.fail(&mut m, down())), 1000.0);
    assert_eq!(call(rig.wake(&mut m, 1000.0)), plain_call(0, 2, 2, true));
    m.take_events();
    assert_eq!(call(rig.fail(&mut m, down())), plain_call(1, 1, 3, false));
    let left = fallback("primary", "backup", GiveUp::Exhausted);
    assert_eq!(m.take_events(), vec![left, attempt("backup", 1)]);
    let answer = Succeeded {
        step: 1,
        attempts: 3,
        usage: Usage::default(),
        cost_usd: None,
    };
    assert_eq!(done(m.succeeded(rig.now(), None, None)), answer);
}

#[test]
fn a_client_error_fails_at_once_without_the_fallback() {
    let rig = rig(3);
    let mut m = rig.machine(vec![primary(), backup()]);
    rig.start(&mut m);
    m.take_events();
    let (tool, calls, category, cause) = tool_failed(rig.fail(&mut m, ToolError::from_status(400, "bad")));
    assert_eq!(
        (tool.as_str(), calls, category),
        ("primary", 1, ToolErrorCategory::Client)
    );
    assert_eq!(cause.as_deref(), Some("client (400): bad"));
    assert_eq!(m.take_events(), vec![], "no retry, no fallback");
    assert_eq!(
        rig.state("openai").failures,
        0,
        "the request's fault is not the provider's"
    );
}

#[test]
fn success_reports_usage_summed_across_failed_attempts() {
    let rig = rig(3);
    let mut m = rig.machine(vec![primary()]);
    rig.start(&mut m);
    let paid = down().with_usage(Some(Usage::new(10, 5, None)), Some(0.25));
    rig.fail(&mut m, paid);
    rig.wake(&mut m, 1000.0);
    rig.fail(&mut m, down());
    rig.wake(&mut m, 2000.0);
    let answer = Succeeded {
        step: 0,
        attempts: 3,
        usage: Usage::new(30, 15, None),
        cost_usd: Some(0.75),
    };
    assert_eq!(
        done(m.succeeded(rig.now(), Some(Usage::new(20, 10, None)), Some(0.5))),
        answer
    );
}

/// Every action of one run through a retry, a fallback and a success.
fn retry_then_fallback(rig: &Rig, m: &mut RunMachine) -> Vec<Call> {
    let mut seen = vec![call(rig.start(m))];
    assert_eq!(wait(rig.fail(m, down())), 1000.0);
    seen.push(call(rig.wake(m, 1000.0)));
    seen.push(call(rig.fail(m, down())));
    assert_eq!(done(m.succeeded(rig.now(), None, None)).attempts, 3);
    seen
}

#[test]
fn a_run_nobody_listens_to_collects_no_events() {
    let rig = rig(2);
    let mut quiet = RunMachine::new(
        vec![primary(), backup()],
        Spend::new(Budget::default(), 0.0),
        Limits::default(),
        false,
    );
    let calls = retry_then_fallback(&rig, &mut quiet);
    assert!(!quiet.has_events());
    assert_eq!(quiet.take_events(), vec![]);
    // The same run with a listener decides the same and does see events.
    let mut loud = rig.machine(vec![primary(), backup()]);
    assert_eq!(retry_then_fallback(&rig, &mut loud), calls);
    assert_eq!(loud.take_events().len(), 6);
}
