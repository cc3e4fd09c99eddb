//! Breakers: trips at the threshold, open tools skipped at planning or left
//! at admission, `circuit_open` when none is left, half-open probes.

use super::*;

/// `runs` runs of the primary alone, each failing once: opens a breaker
/// whose threshold is `runs`.
fn open_primary(rig: &Rig, runs: u32) {
    for _ in 0..runs {
        let mut m = rig.machine(vec![primary()]);
        call(rig.start(&mut m));
        rig.fail(&mut m, down());
    }
    assert_eq!(rig.state("openai").state, CircuitState::Open);
}

#[test]
fn failures_at_the_threshold_open_the_breaker_and_leave_for_the_fallback() {
    let rig = Rig::new(retry(3), breaker(2));
    let mut m = rig.machine(vec![primary(), backup()]);
    rig.start(&mut m);
    assert_eq!(wait(rig.fail(&mut m, down())), 1000.0);
    assert_eq!(rig.state("openai").failures, 1);
    call(rig.wake(&mut m, 1000.0));
    m.take_events();
    // Retries are left, but the breaker this failure opened would refuse them.
    assert_eq!(call(rig.fail(&mut m, down())), plain_call(1, 1, 3, false));
    let events = vec![
        tripped("openai", "closed", "open", "failure_threshold"),
        fallback("primary", "backup", GiveUp::CircuitOpen),
        attempt("backup", 1),
    ];
    assert_eq!(m.take_events(), events);
    assert_eq!(rig.state("openai").state, CircuitState::Open);
}

#[test]
fn the_next_run_skips_an_open_tool_and_calls_its_fallback() {
    let rig = Rig::new(retry(1), breaker(2));
    open_primary(&rig, 2);
    let mut m = rig.machine(vec![primary(), backup()]);
    assert_eq!(call(rig.start(&mut m)), plain_call(1, 1, 1, false));
    assert_eq!(
        m.take_events(),
        vec![plan("backup", &[], &["primary"]), attempt("backup", 1)]
    );
}

#[test]
fn with_every_breaker_open_start_fails_with_circuit_open() {
    let rig = Rig::new(retry(1), breaker(2));
    open_primary(&rig, 2);
    let mut m = rig.machine(vec![primary()]);
    let (tool, calls, category, cause) = tool_failed(rig.start(&mut m));
    assert_eq!(
        (tool.as_str(), calls, category),
        ("primary", 0, ToolErrorCategory::CircuitOpen)
    );
    let why = "circuit_open: not called: the circuit breaker is open for openai";
    assert_eq!(cause.as_deref(), Some(why));
    assert_eq!(m.take_events(), vec![], "no plan was made");
}

#[test]
fn after_the_timeout_a_half_open_probe_is_admitted_and_closes_the_breaker() {
    let rig = Rig::new(retry(1), breaker(2));
    open_primary(&rig, 2);
    rig.clock.advance(59_999.0);
    let (_, _, category, _) = tool_failed(rig.start(&mut rig.machine(vec![primary()])));
    assert_eq!(category, ToolErrorCategory::CircuitOpen, "1 ms before the timeout");
    rig.clock.advance(1.0);
    let mut probe = rig.machine(vec![primary()]);
    assert_eq!(call(rig.start(&mut probe)), plain_call(0, 1, 1, false));
    let events = vec![
        plan("primary", &[], &[]),
        tripped("openai", "open", "half_open", "timeout_elapsed"),
        attempt("primary", 1),
    ];
    assert_eq!(probe.take_events(), events);
    // halfOpenMaxCalls is 1: a run meeting the slot taken goes to its fallback.
    let mut other = rig.machine(vec![primary(), backup()]);
    assert_eq!(call(rig.start(&mut other)), plain_call(1, 1, 1, false));
    let events = vec![
        plan("primary", &["backup"], &[]),
        fallback("primary", "backup", GiveUp::CircuitOpen),
        attempt("backup", 1),
    ];
    assert_eq!(other.take_events(), events);
    assert_eq!(done(probe.succeeded(rig.now(), None, None)).attempts, 1);
    let closed = tripped("openai", "half_open", "closed", "probe_succeeded");
    assert_eq!(probe.take_events(), vec![closed]);
    assert_eq!(rig.state("openai").state, CircuitState::Closed);
}

#[test]
fn a_failed_probe_reopens_the_breaker_without_a_wait() {
    let rig = Rig::new(retry(3), breaker(1));
    open_primary(&rig, 1);
    rig.clock.advance(60_000.0);
    let mut probe = rig.machine(vec![primary()]);
    call(rig.start(&mut probe));
    probe.take_events();
    let (_, calls, category, cause) = tool_failed(rig.fail(&mut probe, down()));
    assert_eq!((calls, category), (1, ToolErrorCategory::CircuitOpen));
    assert_eq!(
        cause.as_deref(),
        Some("server (503): down"),
        "the last failure is the cause"
    );
    let reopened = tripped("openai", "half_open", "open", "probe_failed");
    assert_eq!(probe.take_events(), vec![reopened]);
}

#[test]
fn a_breaker_another_run_opened_during_a_wait_sends_the_run_to_its_fallback() {
    let rig = Rig::new(retry(3), breaker(2));
    let mut waiting = rig.machine(vec![primary(), backup()]);
    rig.start(&mut waiting);
    assert_eq!(wait(rig.fail(&mut waiting, down())), 1000.0);
    waiting.take_events();
    // Another run's failure is the second: the breaker opens.
    let mut other = rig.machine(vec![primary()]);
    rig.start(&mut other);
    let (_, _, category, _) = tool_failed(rig.fail(&mut other, down()));
    assert_eq!(category, ToolErrorCategory::CircuitOpen);
    assert_eq!(call(rig.wake(&mut waiting, 1000.0)), plain_call(1, 1, 2, false));
    let events = vec![fallback("primary", "backup", GiveUp::CircuitOpen), attempt("backup", 1)];
    assert_eq!(waiting.take_events(), events);
}

#[test]
fn a_failure_after_another_run_opened_the_breaker_falls_back_without_waiting() {
    let rig = Rig::new(retry(3), breaker(1));
    let mut slow = rig.machine(vec![primary(), backup()]);
    call(rig.start(&mut slow));
    slow.take_events();
    let mut fast = rig.machine(vec![primary()]);
    call(rig.start(&mut fast));
    rig.fail(&mut fast, down());
    assert_eq!(rig.state("openai").state, CircuitState::Open);
    // The slow call's outcome is stale for the breaker; the retry it would
    // earn would be refused, so its fallback runs now.
    assert_eq!(call(rig.fail(&mut slow, down())), plain_call(1, 1, 2, false));
    let events = vec![fallback("primary", "backup", GiveUp::CircuitOpen), attempt("backup", 1)];
    assert_eq!(slow.take_events(), events);
}
