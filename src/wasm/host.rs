//! The host's clock, timers and randomness, found on the global object so
//! the same code runs in Window, Worker, Node and workerd. Nothing here runs
//! at module load: Workers forbid timers and randomness at module scope.

use futures::future::LocalBoxFuture;
use js_sys::{Function, Reflect};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

use crate::platform::{Clock, Platform, Random, Sleeper};

/// `performance.now()` for monotonic time, `Date.now()` for wall time.
pub struct JsClock {
    performance: Option<(JsValue, Function)>,
}

impl JsClock {
    fn new() -> Self {
        let global = js_sys::global();
        let performance = Reflect::get(&global, &"performance".into())
            .ok()
            .filter(|p| p.is_object())
            .and_then(|p| {
                let now = Reflect::get(&p, &"now".into()).ok()?.dyn_into::<Function>().ok()?;
                Some((p, now))
            });
        Self { performance }
    }
}

impl Clock for JsClock {
    fn now_ms(&self) -> f64 {
        self.performance
            .as_ref()
            .and_then(|(p, now)| now.call0(p).ok()?.as_f64())
            .unwrap_or_else(js_sys::Date::now)
    }

    fn wall_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}

/// `setTimeout` through gloo-timers; dropping the future clears the timer.
pub struct JsSleeper;

/// setTimeout fires at once for delays above 2^31-1 ms, so longer ones are clamped.
const MAX_TIMEOUT_MS: f64 = 2_147_483_647.0;

impl Sleeper for JsSleeper {
    fn sleep(&self, ms: f64) -> LocalBoxFuture<'static, ()> {
        let ms = if ms.is_nan() {
            0.0
        } else {
            ms.clamp(0.0, MAX_TIMEOUT_MS)
        };
        Box::pin(gloo_timers::future::TimeoutFuture::new(ms.ceil() as u32))
    }
}

/// `crypto.getRandomValues` through getrandom, `Math.random` if that fails.
pub struct JsRandom;

impl Random for JsRandom {
    fn fill(&self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            for byte in buf.iter_mut() {
                *byte = (js_sys::Math::random() * 256.0) as u8;
            }
        }
    }
}

/// Workers identify themselves by `navigator.userAgent`.
fn is_cloudflare_workers() -> bool {
    Reflect::get(&js_sys::global(), &"navigator".into())
        .ok()
        .and_then(|n| Reflect::get(&n, &"userAgent".into()).ok())
        .and_then(|ua| ua.as_string())
        .is_some_and(|ua| ua == "Cloudflare-Workers")
}

/// How often a run joined to another request's execution checks for its result in Workers.
const WORKERS_JOIN_POLL_MS: f64 = 20.0;

/// The platform of the JS host this module runs in.
pub fn platform() -> Platform {
    Platform {
        join_poll_ms: is_cloudflare_workers().then_some(WORKERS_JOIN_POLL_MS),
        clock: Rc::new(JsClock::new()),
        sleeper: Rc::new(JsSleeper),
        random: Rc::new(JsRandom),
    }
}
