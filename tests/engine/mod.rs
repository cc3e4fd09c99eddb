//! Binding tests shared by the Node (`tests/node.rs`) and browser
//! (`tests/web.rs`) suites: the real engine's promises, timers, AbortSignal
//! and thrown values, through the exported `WasmOrchestrator`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use js_sys::{Function, Promise, Reflect};
use reliable_orchestrator::wasm::WasmOrchestrator;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// Evaluates a JS function body and returns what it returns.
fn js(body: &str) -> JsValue {
    Function::new_no_args(body).call0(&JsValue::NULL).expect("test JS runs")
}

fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |v, key| {
        Reflect::get(&v, &key.into()).unwrap_or(JsValue::UNDEFINED)
    })
}

fn orchestrator(config_body: &str) -> WasmOrchestrator {
    WasmOrchestrator::new(js(config_body), None, None, None, None)
        .map_err(|e| format!("{:?}", js_sys::JSON::stringify(&e)))
        .expect("config accepted")
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

fn options(body: &str) -> JsValue {
    js(&format!("return {body};"))
}

#[wasm_bindgen_test]
async fn run_resolves_with_the_tool_output_and_ids() {
    let o = orchestrator(
        "return { tools: { echo: { provider: 'p', execute: async (req, opts, ctx) => ({ output: { said: req, k: opts && opts.k, attempt: ctx.attempt, tool: ctx.toolName, trace: ctx.traceId, hasSignal: ctx.signal instanceof AbortSignal }, usage: { prompt_tokens: 3, completion_tokens: 4 }, costUsd: 0.5 }) } }, defaultTools: ['echo'] };",
    );
    let r = settle(o.run("hello".into(), options("{ requestId: 'req-1', toolOptions: { k: 5 } }")))
        .await
        .unwrap();
    assert_eq!(
        get(&r, "output.said").as_string().as_deref(),
        Some("hello"),
        "a string request reaches the tool untouched"
    );
    assert_eq!(get(&r, "output.k").as_f64(), Some(5.0));
    assert_eq!(get(&r, "output.attempt").as_f64(), Some(1.0));
    assert_eq!(get(&r, "output.trace").as_string().as_deref(), Some("req-1"));
    assert_eq!(get(&r, "output.hasSignal").as_bool(), Some(true));
    assert_eq!(get(&r, "toolName").as_string().as_deref(), Some("echo"));
    assert_eq!(get(&r, "usage.totalTokens").as_f64(), Some(7.0));
    assert_eq!(get(&r, "costUsd").as_f64(), Some(0.5));
    assert_eq!(get(&r, "cached").as_bool(), Some(false));
    assert_eq!(get(&r, "requestId").as_string().as_deref(), Some("req-1"));
}

#[wasm_bindgen_test]
async fn output_objects_cross_untouched() {
    let o = orchestrator("globalThis.__shared = { big: 'x'.repeat(100000) }; return { tools: { t: { execute: () => ({ output: globalThis.__shared }) } }, defaultTools: ['t'] };");
    let r = settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap();
    assert!(
        Object_is(&get(&r, "output"), &js("return globalThis.__shared;")),
        "the very same object"
    );
}

#[allow(non_snake_case)]
fn Object_is(a: &JsValue, b: &JsValue) -> bool {
    js_sys::Object::is(a, b)
}

#[wasm_bindgen_test]
async fn thrown_errors_are_classified_and_retried_on_real_timers() {
    let o = orchestrator(
        "let n = 0; return { tools: { t: { execute: async () => { n++; if (n === 1) throw Object.assign(new Error('busy'), { status: 503 }); if (n === 2) throw new TypeError('fetch failed'); if (n === 3) { const e = new Error('slow'); e.name = 'TimeoutError'; throw e; } return { output: n }; } } }, defaultTools: ['t'], reliability: { retryPolicy: { maxAttempts: 4, initialDelay: 0.01, jitter: 0 } } };",
    );
    let started = js_sys::Date::now();
    let r = settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&r, "output").as_f64(), Some(4.0));
    assert_eq!(get(&r, "attempts").as_f64(), Some(4.0));
    // 10 + 20 + 40 ms of real backoff.
    assert!(js_sys::Date::now() - started >= 65.0);
}

#[wasm_bindgen_test]
async fn non_retryable_failures_reject_at_once_with_the_original_cause() {
    let o = orchestrator(
        "globalThis.__thrown = Object.assign(new Error('bad input'), { status: 422 }); let calls = 0; globalThis.__calls = () => calls; return { tools: { t: { execute: () => { calls++; throw globalThis.__thrown; } } }, defaultTools: ['t'] };",
    );
    let e = settle(o.run(JsValue::NULL, options("{ traceId: 'tr' }")))
        .await
        .unwrap_err();
    assert_eq!(
        get(&e, "__reliableOrchestratorError").as_string().as_deref(),
        Some("ToolExecutionError")
    );
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("tool_failed"));
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("client"));
    assert_eq!(get(&e, "attempts").as_f64(), Some(1.0));
    assert_eq!(get(&e, "traceId").as_string().as_deref(), Some("tr"));
    assert!(js_sys::Object::is(
        &get(&e, "cause"),
        &js("return globalThis.__thrown;")
    ));
    assert_eq!(js("return globalThis.__calls();").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn retry_after_ms_is_honoured() {
    let o = orchestrator(
        "let n = 0; return { tools: { t: { execute: async () => { if (n++ === 0) throw { status: 429, headers: { 'retry-after-ms': '120' } }; return { output: 'ok' }; } } }, defaultTools: ['t'], reliability: { retryPolicy: { initialDelay: 0.001, jitter: 0 } } };",
    );
    let started = js_sys::Date::now();
    settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap();
    assert!(js_sys::Date::now() - started >= 115.0);
}

#[wasm_bindgen_test]
async fn abort_signal_stops_a_wait_and_reaches_the_tool() {
    let o = orchestrator(
        "globalThis.__seen = []; return { tools: { t: { execute: (req, opts, ctx) => { ctx.signal.addEventListener('abort', () => globalThis.__seen.push(ctx.signal.reason && ctx.signal.reason.name)); return new Promise(() => {}); } } }, defaultTools: ['t'] };",
    );
    let opts = js("const c = new AbortController(); setTimeout(() => c.abort(new Error('user gave up')), 30); return { signal: c.signal };");
    let run = o.run(JsValue::NULL, opts);
    let e = settle(run).await.unwrap_err();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("aborted"));
    assert_eq!(get(&e, "cause.message").as_string().as_deref(), Some("user gave up"));
    assert_eq!(
        js("return globalThis.__seen.join(',');").as_string().as_deref(),
        Some("AbortError")
    );
}

#[wasm_bindgen_test]
async fn attempt_and_run_timeouts_fire_on_real_timers() {
    let o = orchestrator(
        "return { tools: { t: { execute: () => new Promise(() => {}) } }, defaultTools: ['t'], reliability: { retryPolicy: { maxAttempts: 2, initialDelay: 0.001 } } };",
    );
    let e = settle(o.run(JsValue::NULL, options("{ attemptTimeoutMs: 20 }")))
        .await
        .unwrap_err();
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("timeout"));
    assert_eq!(get(&e, "attempts").as_f64(), Some(2.0));
    let e = settle(o.run(JsValue::NULL, options("{ timeoutMs: 30 }")))
        .await
        .unwrap_err();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("timeout"));
}

#[wasm_bindgen_test]
async fn a_js_store_makes_runs_idempotent() {
    let o = orchestrator(
        "const m = new Map(); globalThis.__store = m; let calls = 0; globalThis.__calls = () => calls; return { tools: { t: { execute: async () => { calls++; await new Promise(r => setTimeout(r, 10)); return { output: 'once' }; } } }, defaultTools: ['t'], store: { get: async k => m.has(k) ? m.get(k) : null, put: async (k, v, o) => { m.set(k, v); }, delete: async k => { m.delete(k); }, putIfAbsent: async (k, v) => m.has(k) ? false : (m.set(k, v), true), consistency: 'strong' } };",
    );
    let runs: Vec<_> = (0..20)
        .map(|_| settle(o.run("q".into(), options("{ idempotencyKey: 'k-1' }"))))
        .collect();
    let results = futures::future::join_all(runs).await;
    assert!(results
        .iter()
        .all(|r| get(r.as_ref().unwrap(), "output").as_string().as_deref() == Some("once")));
    assert_eq!(
        results
            .iter()
            .filter(|r| get(r.as_ref().unwrap(), "cached").as_bool() == Some(true))
            .count(),
        19
    );
    let again = settle(o.run("q".into(), options("{ idempotencyKey: 'k-1' }")))
        .await
        .unwrap();
    assert_eq!(get(&again, "cached").as_bool(), Some(true));
    assert_eq!(js("return globalThis.__calls();").as_f64(), Some(1.0));
    let keys = js("return [...globalThis.__store.keys()].join(',');")
        .as_string()
        .unwrap();
    assert!(keys.starts_with("ro:idem:v1:") && !keys.contains("k-1"), "{keys}");
    let conflict = settle(o.run("other".into(), options("{ idempotencyKey: 'k-1' }")))
        .await
        .unwrap_err();
    assert_eq!(
        get(&conflict, "__reliableOrchestratorError").as_string().as_deref(),
        Some("ConflictError")
    );
    assert_eq!(
        get(&conflict, "reason").as_string().as_deref(),
        Some("fingerprint_mismatch")
    );
}

#[wasm_bindgen_test]
async fn events_reach_the_listener_and_a_throwing_listener_is_harmless() {
    let o = orchestrator(
        "globalThis.__events = []; return { tools: { t: { execute: () => ({ output: 1 }) } }, defaultTools: ['t'], onEvent: e => { globalThis.__events.push(e.type + ':' + (e.traceId || '')); throw new Error('listener bug'); } };",
    );
    settle(o.run(JsValue::NULL, options("{ traceId: 'x' }"))).await.unwrap();
    assert_eq!(
        js("return globalThis.__events.join(',');").as_string().as_deref(),
        Some("plan:x,attempt:x")
    );
}

#[wasm_bindgen_test]
async fn bad_input_is_a_typed_error_and_the_instance_keeps_working() {
    for (body, field) in [
        ("return 42;", "config"),
        ("return { reliability: { retryPolicy: { maxAttempts: NaN } } };", "reliability.retryPolicy.maxAttempts"),
        ("return { reliability: { retryPolicy: { initialDelay: -1 } } };", "reliability.retryPolicy.initialDelay"),
        ("return { reliability: { retryPolicy: { maxDelay: Infinity } } };", "reliability.retryPolicy.maxDelay"),
        ("return { reliability: { circuitBreakers: { openai: { timeout: NaN } } } };", "reliability.circuitBreakers.openai.timeout"),
        ("return { tools: { t: { execute: () => 1 } }, planner: { rules: [{ conditions: [{ path: 'a', op: 'like' }], action: { toolName: 't' } }] } };", "planner.rules[0].conditions[0].op"),
        ("return { tools: { t: { execute: 5 } } };", "tools.t.execute"),
        ("return { tools: { t: { execute: () => 1 } }, planner: { rules: [{ conditions: [], action: { toolName: 'ghost' } }] } };", "planner.rules[0].action.toolName"),
        ("return { store: { get() {} } };", "store.put"),
    ] {
        let e = WasmOrchestrator::new(js(body), None, None, None, None).err().unwrap_or_else(|| panic!("accepted: {body}"));
        assert_eq!(get(&e, "code").as_string().as_deref(), Some("invalid_config"), "{body}");
        assert_eq!(get(&e, "field").as_string().as_deref(), Some(field), "{body}");
    }
    let o = orchestrator(
        "let n = 0; return { tools: { t: { execute: () => { n++; if (n === 1) return 42; if (n === 2) throw 'a string'; if (n === 3) return null; return { output: 'fine' }; } } }, defaultTools: ['t'], reliability: { retryPolicy: { maxAttempts: 1 } } };",
    );
    let e = settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("invalid_output"));
    let e = settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("unknown"));
    assert_eq!(get(&e, "cause").as_string().as_deref(), Some("a string"));
    let e = settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("invalid_output"));
    for (opts, field) in [
        ("{ timeoutMs: -5 }", "timeoutMs"),
        ("{ timeoutMs: NaN }", "timeoutMs"),
        ("{ budget: { costUsd: Infinity } }", "budget.costUsd"),
        ("{ budget: { tokens: 'lots' } }", "budget.tokens"),
        ("{ idempotencyKey: '' }", "idempotencyKey"),
        ("{ idempotencyKey: 'x'.repeat(300) }", "idempotencyKey"),
        ("{ signal: 'stop' }", "signal"),
        ("{ toolName: 'nope' }", ""),
        ("7", "options"),
    ] {
        let e = settle(o.run(JsValue::NULL, options(opts))).await.unwrap_err();
        let code = get(&e, "code").as_string().unwrap();
        if field.is_empty() {
            assert_eq!(code, "unknown_tool");
        } else {
            assert_eq!(
                (code.as_str(), get(&e, "field").as_string().as_deref()),
                ("invalid_request", Some(field)),
                "{opts}"
            );
        }
    }
    let cyclic = js("const a = { query: 'x' }; a.self = a; return a;");
    let e = settle(o.run(cyclic.clone(), options("{ idempotencyKey: 'c' }")))
        .await
        .unwrap_err();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("request"));
    let deep = js("let v = {}; for (let i = 0; i < 100000; i++) v = { v }; return v;");
    let e = settle(o.run(deep, options("{ idempotencyKey: 'd' }")))
        .await
        .unwrap_err();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("invalid_request"));
    // Still healthy: a normal run works on the same instance.
    let r = settle(o.run(cyclic, JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&r, "output").as_string().as_deref(), Some("fine"));
}

#[wasm_bindgen_test]
async fn breaker_states_and_export_import() {
    let o = orchestrator(
        "return { tools: { a: { provider: 'openai', execute: () => { throw { status: 500 }; } }, b: { provider: 'anthropic', execute: () => ({ output: 'b' }) } }, defaultTools: ['a', 'b'], reliability: { retryPolicy: { maxAttempts: 1 }, circuitBreakers: { openai: { failureThreshold: 1, timeout: 60 } } } };",
    );
    let r = settle(o.run(JsValue::NULL, JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&r, "toolName").as_string().as_deref(), Some("b"));
    let states = o.circuit_states().unwrap();
    assert_eq!(get(&states, "openai.state").as_string().as_deref(), Some("open"));
    assert!(
        get(&states, "anthropic.openedAt").is_null(),
        "None is null, not undefined"
    );
    let exported = o.export_state().unwrap();
    assert_eq!(
        get(&exported, "breakers.openai.state").as_string().as_deref(),
        Some("open")
    );
    let other = orchestrator(
        "return { tools: { a: { provider: 'openai', execute: () => ({ output: 'a' }) } }, defaultTools: ['a'] };",
    );
    other.import_state(exported);
    assert_eq!(
        get(&other.circuit_states().unwrap(), "openai.state")
            .as_string()
            .as_deref(),
        Some("open")
    );
    other.import_state(js("return 'garbage';"));
}

/// The mock provider's URL, set by `scripts/test.sh` (which starts it) at compile time.
fn mock_url() -> &'static str {
    match option_env!("RO_MOCK_URL") {
        Some(url) => url,
        None => panic!("RO_MOCK_URL is not set: run the engine tests through scripts/test.sh"),
    }
}

async fn post_fault(fault: &str) {
    let body = format!(
        "return fetch('{}/__mock/faults', {{ method: 'POST', body: JSON.stringify({fault}) }}).then(r => r.json());",
        mock_url()
    );
    settle(Ok(js(&body).into())).await.expect("fault queued");
}

#[wasm_bindgen_test]
async fn provider_tools_over_real_fetch() {
    let url = mock_url();
    let o = orchestrator(&format!(
        "return {{ tools: {{
            gpt: {{ __reliableOrchestratorTool: 'openaiChat', options: {{ apiKey: 'sk-engine-test-key-0001', model: 'gpt-4o-mini-2024-07-18', baseUrl: '{url}/v1' }} }},
            claude: {{ __reliableOrchestratorTool: 'anthropicMessages', options: {{ apiKey: 'sk-engine-test-key-0001', model: 'claude-3-haiku-engine', baseUrl: '{url}/v1/' }} }},
          }}, defaultTools: ['gpt'],
          reliability: {{ retryPolicy: {{ maxAttempts: 2, initialDelay: 0.01, jitter: 0 }} }} }};"
    ));
    let r = settle(o.run("hello".into(), options("{ requestId: 'engine-req' }")))
        .await
        .unwrap();
    assert_eq!(get(&r, "output").as_string().as_deref(), Some("Answer to: hello"));
    assert!(get(&r, "usage.totalTokens").as_f64().unwrap() > 0.0);
    assert!(
        get(&r, "costUsd").as_f64().unwrap() > 0.0,
        "snapshot priced as gpt-4o-mini"
    );

    // Unpriced model: costUsd is null, not undefined.
    let r = settle(o.run("hi".into(), options("{ toolName: 'claude' }")))
        .await
        .unwrap();
    assert!(get(&r, "costUsd").is_null());

    // 429 with retry-after-ms, read through CORS-exposed headers, then success.
    post_fault("{ kind: 'rate_limit', model: 'gpt-4o-mini-2024-07-18', retryAfterMs: 30 }").await;
    let r = settle(o.run("again".into(), JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&r, "attempts").as_f64(), Some(2.0));

    // Malformed JSON twice: a typed tool failure, and the key appears nowhere.
    post_fault("{ kind: 'malformed', model: 'gpt-4o-mini-2024-07-18', count: 2 }").await;
    let e = settle(o.run("broken".into(), JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("tool_failed"));
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("invalid_output"));
    post_fault("{ kind: 'unauthorized', model: 'gpt-4o-mini-2024-07-18' }").await;
    let e = settle(o.run("who".into(), JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&e, "category").as_string().as_deref(), Some("client"));
    let shown = js_sys::JSON::stringify(&js_sys::Array::of2(&e, &get(&e, "cause")))
        .unwrap()
        .as_string()
        .unwrap()
        + &get(&e, "message").as_string().unwrap_or_default();
    assert!(shown.contains("invalid_api_key"), "{shown}");
    assert!(!shown.contains("engine-test-key"), "{shown}");
}
