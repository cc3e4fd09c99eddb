//! Promises and timers the async Rust driver awaits, settled without a
//! wasm-bindgen closure each. `JsFuture` makes two `Closure`s per promise and
//! gloo's timer one per sleep, each registered with a `FinalizationRegistry`:
//! the largest single cost of a keyed run or a stream chunk (a thenable was
//! also wrapped in a `new Promise` whose executor called back into wasm). The
//! package's bridge (`js/bridge.ts`) adopts a value and arms a timer with
//! plain JS callbacks, which report to [`settle_pending`] by number. Until an
//! orchestrator of the package registers it (the bindings used directly),
//! `JsFuture` and gloo serve.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use js_sys::Function;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

/// How a pending value settled (`js/bridge.ts` keeps the same numbers).
pub const FULFILLED: u32 = 0;
/// The promise rejected, or the thenable called its reject.
pub const REJECTED: u32 = 1;
// Any other number (2): the thenable's `then` threw.

/// The package's `adopt(value, then, id)`, `sleep(ms, id)` and `clear(timer)`.
struct Bridge {
    adopt: Function,
    sleep: Function,
    clear: Function,
}

#[derive(Default)]
enum State {
    #[default]
    Free,
    /// Its callback has not run yet.
    Waiting(Option<Waker>),
    /// Settled, not yet taken by its future.
    Settled(u32, JsValue),
    /// Its future was dropped first: freed when the callback runs.
    Abandoned,
}

#[derive(Default)]
struct Table {
    entries: Vec<State>,
    free: Vec<u32>,
}

thread_local! {
    static BRIDGE: RefCell<Option<Bridge>> = const { RefCell::new(None) };
    static PENDING: RefCell<Table> = RefCell::new(Table::default());
}

/// Registers the package's bridge (`js/bridge.ts`): `adopt(value, then, id)`,
/// `sleep(ms, id)` answering a timer, `clear(timer)`. Every orchestrator of
/// the instance uses it from now on.
#[wasm_bindgen(js_name = usePromiseBridge)]
pub fn use_bridge(adopt: Function, sleep: Function, clear: Function) {
    BRIDGE.with(|b| *b.borrow_mut() = Some(Bridge { adopt, sleep, clear }));
}

/// Input from the bridge: pending value `id` settled `how` with `value`.
#[wasm_bindgen(js_name = settlePending)]
pub fn settle_pending(id: u32, how: u32, value: JsValue) {
    let waker = PENDING.with(|p| {
        let mut table = p.borrow_mut();
        let entry = table.entries.get_mut(id as usize)?;
        match std::mem::take(entry) {
            State::Waiting(waker) => {
                *entry = State::Settled(how, value);
                waker
            }
            State::Abandoned => {
                table.free.push(id);
                None
            }
            // Settled twice (never, by the bridge): the first stands.
            other => {
                *entry = other;
                None
            }
        }
    });
    // Woken with nothing borrowed: the executor may poll at once.
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn allocate() -> u32 {
    PENDING.with(|p| {
        let mut table = p.borrow_mut();
        let id = match table.free.pop() {
            Some(id) => id,
            None => {
                table.entries.push(State::Free);
                u32::try_from(table.entries.len() - 1).unwrap_or(u32::MAX)
            }
        };
        if let Some(entry) = table.entries.get_mut(id as usize) {
            *entry = State::Waiting(None);
        }
        id
    })
}

fn release(id: u32) {
    PENDING.with(|p| {
        let mut table = p.borrow_mut();
        if let Some(entry) = table.entries.get_mut(id as usize) {
            *entry = State::Free;
            table.free.push(id);
        }
    });
}

/// A value the bridge settles: `(how, value)`.
pub struct Pending {
    id: u32,
    done: bool,
}

impl Future for Pending {
    type Output = (u32, JsValue);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        let ready = PENDING.with(|p| {
            let mut table = p.borrow_mut();
            let entry = table.entries.get_mut(id as usize)?;
            match std::mem::take(entry) {
                State::Settled(how, value) => {
                    table.free.push(id);
                    Some((how, value))
                }
                State::Waiting(_) => {
                    *entry = State::Waiting(Some(cx.waker().clone()));
                    None
                }
                other => {
                    *entry = other;
                    None
                }
            }
        });
        match ready {
            Some(settled) => {
                self.done = true;
                Poll::Ready(settled)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        PENDING.with(|p| {
            let mut table = p.borrow_mut();
            let Some(entry) = table.entries.get_mut(self.id as usize) else {
                return;
            };
            match entry {
                State::Waiting(_) => *entry = State::Abandoned,
                State::Settled(..) => {
                    *entry = State::Free;
                    table.free.push(self.id);
                }
                _ => {}
            }
        });
    }
}

/// Awaits thenable `value` (its `then` read already) through the bridge;
/// `None` without one (or if it threw: an engine error), for `JsFuture`.
pub fn adopt(value: &JsValue, then: &Function) -> Option<Pending> {
    // Cloned out: nothing is borrowed while JS runs.
    let adopt = BRIDGE.with(|b| b.borrow().as_ref().map(|b| b.adopt.clone()))?;
    let id = allocate();
    match adopt.call3(&JsValue::UNDEFINED, value, then, &JsValue::from(id)) {
        Ok(_) => Some(Pending { id, done: false }),
        Err(_) => {
            release(id);
            None
        }
    }
}

/// A timer armed through the bridge; dropping it clears the timer.
pub struct Sleep {
    pending: Pending,
    timer: JsValue,
    clear: Function,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.pending).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if self.pending.done {
            return;
        }
        let _ = self.clear.call1(&JsValue::UNDEFINED, &self.timer);
        // Cleared, it never fires: its entry is free now.
        self.pending.done = true;
        release(self.pending.id);
    }
}

/// Sleeps `ms` (a whole number, in range) through the bridge; `None` without one.
pub fn sleep(ms: f64) -> Option<Sleep> {
    let (sleep, clear) = BRIDGE.with(|b| b.borrow().as_ref().map(|b| (b.sleep.clone(), b.clear.clone())))?;
    let id = allocate();
    match sleep.call2(&JsValue::UNDEFINED, &JsValue::from(ms), &JsValue::from(id)) {
        Ok(timer) => Some(Sleep {
            pending: Pending { id, done: false },
            timer,
            clear,
        }),
        Err(_) => {
            release(id);
            None
        }
    }
}
