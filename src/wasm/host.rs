//! The host's clock, timers and randomness, found on the global object so
//! the same code runs in Window, Worker, Node and workerd. Nothing here runs
//! at module load: Workers forbid timers and randomness at module scope.

use futures::future::LocalBoxFuture;
use js_sys::{Function, Reflect};
use std::cell::RefCell;
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

/// `setTimeout` through the package's bridge (`promises.rs`), else gloo-timers;
/// dropping the future clears the timer.
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
        match super::promises::sleep(ms.ceil()) {
            Some(sleep) => Box::pin(sleep),
            None => Box::pin(gloo_timers::future::TimeoutFuture::new(ms.ceil() as u32)),
        }
    }
}

/// `crypto.getRandomValues` through getrandom, drawn in blocks: one host call
/// per 4 KiB instead of one per id (each call costs about 1.8 µs in Node,
/// which was a third of a `run()`). `Math.random` if the host has no crypto.
pub struct JsRandom {
    pool: RefCell<Pool>,
}

struct Pool {
    bytes: [u8; POOL_BYTES],
    used: usize,
}

const POOL_BYTES: usize = 4096;

impl JsRandom {
    /// An empty pool; the first draw fills it.
    pub fn new() -> Self {
        Self {
            pool: RefCell::new(Pool {
                bytes: [0; POOL_BYTES],
                used: POOL_BYTES,
            }),
        }
    }
}

impl Default for JsRandom {
    fn default() -> Self {
        Self::new()
    }
}

fn fill_from_host(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        for byte in buf.iter_mut() {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
}

impl Random for JsRandom {
    fn fill(&self, buf: &mut [u8]) {
        let Ok(mut pool) = self.pool.try_borrow_mut() else {
            return fill_from_host(buf);
        };
        let mut written = 0;
        while written < buf.len() {
            if pool.used == POOL_BYTES {
                fill_from_host(&mut pool.bytes);
                pool.used = 0;
            }
            let take = (buf.len() - written).min(POOL_BYTES - pool.used);
            let (from, to) = (pool.used, pool.used + take);
            if let (Some(dst), Some(src)) = (buf.get_mut(written..written + take), pool.bytes.get(from..to)) {
                dst.copy_from_slice(src);
            }
            // Bytes handed out are never handed out again.
            if let Some(spent) = pool.bytes.get_mut(from..to) {
                spent.fill(0);
            }
            pool.used = to;
            written += take;
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
        random: Rc::new(JsRandom::new()),
    }
}
