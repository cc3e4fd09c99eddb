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
}

/// An entry and its generation: a callback carries both (`id`), so one that
/// comes after its future was dropped (a promise settling late, a timer that
/// another workerd request could not clear) finds another generation and is
/// ignored. Entries are freed as soon as their future is done or dropped.
#[derive(Default)]
struct Entry {
    generation: u32,
    state: State,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    free: Vec<u32>,
}

/// Ids are `index + generation * 2^24` (exact in an f64): 16M pending at once.
const INDEX_SPAN: f64 = 16_777_216.0;
const MAX_INDEX: usize = 1 << 24;
const GENERATIONS: u32 = 1 << 28;

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
pub fn settle_pending(id: f64, how: u32, value: JsValue) {
    let (index, generation) = split(id);
    let waker = PENDING.with(|p| {
        let mut table = p.borrow_mut();
        let entry = table.entries.get_mut(index)?;
        if entry.generation != generation || !matches!(entry.state, State::Waiting(_)) {
            // A callback of a future already done or dropped: nothing waits for it.
            return None;
        }
        match std::mem::replace(&mut entry.state, State::Settled(how, value)) {
            State::Waiting(waker) => waker,
            _ => None,
        }
    });
    // Woken (and the waker dropped) with nothing borrowed: the executor may poll at once.
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn split(id: f64) -> (usize, u32) {
    if !(id >= 0.0 && id < INDEX_SPAN * f64::from(GENERATIONS)) {
        return (usize::MAX, 0);
    }
    let generation = (id / INDEX_SPAN).floor();
    let index = id - generation * INDEX_SPAN;
    (index as usize, generation as u32)
}

/// A new waiting entry: its index and its id; `None` when 2^24 wait already.
fn allocate() -> Option<(u32, f64)> {
    PENDING.with(|p| {
        let mut table = p.borrow_mut();
        let index = match table.free.pop() {
            Some(index) => index,
            None if table.entries.len() < MAX_INDEX => {
                table.entries.push(Entry::default());
                u32::try_from(table.entries.len() - 1).ok()?
            }
            None => return None,
        };
        let entry = table.entries.get_mut(index as usize)?;
        entry.state = State::Waiting(None);
        Some((index, f64::from(index) + f64::from(entry.generation) * INDEX_SPAN))
    })
}

/// Frees entry `index` for another generation; what it held is dropped by the caller.
fn release(index: u32) -> State {
    PENDING.with(|p| {
        let mut table = p.borrow_mut();
        let Some(entry) = table.entries.get_mut(index as usize) else {
            return State::Free;
        };
        entry.generation = (entry.generation + 1) % GENERATIONS;
        let held = std::mem::take(&mut entry.state);
        table.free.push(index);
        held
    })
}

/// A value the bridge settles: `(how, value)`.
pub struct Pending {
    index: u32,
    done: bool,
}

impl Future for Pending {
    type Output = (u32, JsValue);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let index = self.index;
        let (settled, replaced) = PENDING.with(|p| {
            let mut table = p.borrow_mut();
            match table.entries.get_mut(index as usize).map(|e| &mut e.state) {
                Some(State::Settled(..)) => (true, None),
                Some(State::Waiting(waker)) => (false, waker.replace(cx.waker().clone())),
                _ => (false, None),
            }
        });
        // A replaced waker is dropped with nothing borrowed.
        drop(replaced);
        if !settled {
            return Poll::Pending;
        }
        self.done = true;
        match release(index) {
            State::Settled(how, value) => Poll::Ready((how, value)),
            _ => Poll::Pending,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            // A late callback finds the next generation and is ignored.
            drop(release(self.index));
        }
    }
}

/// Awaits thenable `value` (its `then` read already) through the bridge;
/// `None` without one (or if it threw: an engine error), for `JsFuture`.
pub fn adopt(value: &JsValue, then: &Function) -> Option<Pending> {
    // Cloned out: nothing is borrowed while JS runs.
    let adopt = BRIDGE.with(|b| b.borrow().as_ref().map(|b| b.adopt.clone()))?;
    let (index, id) = allocate()?;
    let pending = Pending { index, done: false };
    // `adopt` never throws (it reports a throw as a broken thenable); if the engine does,
    // no callback was attached and the general path adopts the value.
    adopt.call3(&JsValue::UNDEFINED, value, then, &JsValue::from(id)).ok()?;
    Some(pending)
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
        if !self.pending.done {
            // If it fires all the same (workerd clears only the current request's timers),
            // its callback finds another generation.
            let _ = self.clear.call1(&JsValue::UNDEFINED, &self.timer);
        }
    }
}

/// Sleeps `ms` (a whole number, in range) through the bridge; `None` without one.
pub fn sleep(ms: f64) -> Option<Sleep> {
    let (sleep, clear) = BRIDGE.with(|b| b.borrow().as_ref().map(|b| (b.sleep.clone(), b.clear.clone())))?;
    let (index, id) = allocate()?;
    let pending = Pending { index, done: false };
    let timer = sleep
        .call2(&JsValue::UNDEFINED, &JsValue::from(ms), &JsValue::from(id))
        .ok()?;
    Some(Sleep { pending, timer, clear })
}
