//! Budgets, deadlines and aborts: calls and waits refused before they
//! start, usage charged past a limit, stops that leave breakers uncharged.

use reliable_orchestrator::run::Deadline;
use reliable_orchestrator::{AbortReason, ToolEstimate, Usage};

use super::*;

fn estimated(tokens: u64) -> Step {
    Step {
        estimate: ToolEstimate {
            tokens: Some(tokens),
            ..ToolEstimate::default()
        },
        ..primary()
    }
}

fn tokens(limit: f64) -> Budget {
    Budget {
        tokens: Some(limit),
        ..Budget::default()
    }
}

/// A run that must end by `at` ms, as `timeoutMs` or `budget.timeMs` sets it.
fn deadline(at: f64, reason: AbortReason) -> Limits {
    Limits {
        deadline: Some(Deadline { at, reason }),
        timeout_ms: (reason == AbortReason::Deadline).then_some(at),
        ..Limits::default()
    }
}

#[test]
fn an_estimate_over_the_token_budget_refuses_the_call() {
    let rig = rig(3);
    let mut m = rig.machine_with(vec![estimated(150)], tokens(100.0), Limits::default());
    let refused = budget_failed(rig.start(&mut m));
    assert_eq!(refused, (BudgetType::Tokens, 100.0, 0.0, Some(150.0), false));
    let events = vec![
        plan("primary", &[], &[]),
        budget_event(BudgetType::Tokens, 100.0, 0.0, Some(150.0)),
    ];
    assert_eq!(m.take_events(), events, "no attempt");
    assert!(!rig.breakers.states().contains_key("openai"), "no breaker was asked");
}

#[test]
fn usage_charged_past_the_limit_fails_keeping_the_output() {
    let rig = rig(3);
    let mut m = rig.machine_with(vec![estimated(50)], tokens(100.0), Limits::default());
    call(rig.start(&mut m));
    m.take_events();
    let over = budget_failed(m.succeeded(rig.now(), Some(Usage::new(80, 40, None)), None));
    assert_eq!(over, (BudgetType::Tokens, 100.0, 120.0, None, true));
    assert_eq!(
        m.take_events(),
        vec![budget_event(BudgetType::Tokens, 100.0, 120.0, None)]
    );
}

#[test]
fn a_wait_past_the_deadline_times_out() {
    let rig = rig(3);
    let mut m = rig.machine_with(
        vec![primary()],
        Budget::default(),
        deadline(1500.0, AbortReason::Deadline),
    );
    rig.start(&mut m);
    assert_eq!(wait(rig.fail(&mut m, down())), 1000.0, "ends at 1000, before 1500");
    call(rig.wake(&mut m, 1000.0));
    m.take_events();
    // The next wait (2000 ms) would end at 3000.
    match failure(rig.fail(&mut m, down())).error {
        OrchestratorError::Timeout { timeout_ms } => assert_eq!(timeout_ms, 1500.0),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(m.take_events(), vec![], "no retry");
}

#[test]
fn a_wait_past_the_deadline_calls_the_fallback_instead() {
    let rig = rig(3);
    let steps = vec![primary(), backup()];
    let mut m = rig.machine_with(steps, Budget::default(), deadline(1000.0, AbortReason::Deadline));
    rig.start(&mut m);
    m.take_events();
    // A 1000 ms wait would end at the deadline, leaving no time for the call.
    assert_eq!(call(rig.fail(&mut m, down())), plain_call(1, 1, 2, false));
    let events = vec![
        fallback("primary", "backup", GiveUp::NoTimeToWait),
        attempt("backup", 1),
    ];
    assert_eq!(m.take_events(), events);
}

#[test]
fn a_wait_past_the_time_budget_fails_with_budget_exceeded() {
    let rig = rig(3);
    let budget = Budget {
        time_ms: Some(1000.0),
        ..Budget::default()
    };
    let mut m = rig.machine_with(vec![primary()], budget, deadline(1000.0, AbortReason::TimeBudget));
    rig.start(&mut m);
    rig.clock.advance(200.0);
    m.take_events();
    let refused = budget_failed(rig.fail(&mut m, down()));
    assert_eq!(refused, (BudgetType::TimeMs, 1000.0, 200.0, None, false));
    assert_eq!(
        m.take_events(),
        vec![budget_event(BudgetType::TimeMs, 1000.0, 200.0, None)]
    );
}

#[test]
fn an_abort_during_a_call_fails_and_leaves_the_breaker_uncharged() {
    let rig = Rig::new(retry(3), breaker(1));
    let mut m = rig.machine(vec![primary(), backup()]);
    call(rig.start(&mut m));
    m.take_events();
    let stopped = failure(m.stopped(rig.now(), AbortReason::Aborted));
    assert!(
        matches!(stopped.error, OrchestratorError::Aborted),
        "{:?}",
        stopped.error
    );
    assert!(!stopped.keep_output);
    assert_eq!(m.take_events(), vec![], "no fallback");
    let state = rig.state("openai");
    assert_eq!((state.state, state.failures), (CircuitState::Closed, 0));
}

#[test]
fn an_aborted_probe_gives_its_slot_back() {
    let rig = Rig::new(retry(1), breaker(1));
    let mut m = rig.machine(vec![primary()]);
    call(rig.start(&mut m));
    rig.fail(&mut m, down());
    rig.clock.advance(60_000.0);
    let mut probe = rig.machine(vec![primary()]);
    call(rig.start(&mut probe));
    failure(probe.stopped(rig.now(), AbortReason::Aborted));
    let state = rig.state("openai");
    assert_eq!((state.state, state.probes_in_flight), (CircuitState::HalfOpen, 0));
    let mut next = rig.machine(vec![primary()]);
    assert_eq!(call(rig.start(&mut next)), plain_call(0, 1, 1, false));
}

#[test]
fn a_stop_reports_its_reason() {
    let rig = rig(3);
    let limits = deadline(1500.0, AbortReason::Deadline);
    let mut m = rig.machine_with(vec![primary()], Budget::default(), limits);
    call(rig.start(&mut m));
    let timeout = failure(m.stopped(1500.0, AbortReason::Deadline)).error;
    assert!(matches!(timeout, OrchestratorError::Timeout { timeout_ms } if timeout_ms == 1500.0));
    let budget = Budget {
        time_ms: Some(800.0),
        ..Budget::default()
    };
    let mut m = rig.machine_with(vec![primary()], budget, deadline(800.0, AbortReason::TimeBudget));
    call(rig.start(&mut m));
    m.take_events();
    let spent = budget_failed(m.stopped(800.0, AbortReason::TimeBudget));
    assert_eq!(spent, (BudgetType::TimeMs, 800.0, 800.0, None, false));
    assert_eq!(
        m.take_events(),
        vec![budget_event(BudgetType::TimeMs, 800.0, 800.0, None)]
    );
}
