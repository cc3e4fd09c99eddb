//! Virtual time: a clock that only moves when told to (or when everything
//! is waiting on it), and an executor that runs futures on it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures::executor::LocalPool;
use futures::future::LocalBoxFuture;
use futures::task::LocalSpawnExt;

use crate::platform::{Clock, Sleeper};

#[derive(Default)]
struct State {
    now: f64,
    wall_offset: f64,
    next_id: u64,
    /// (deadline as ordered bits, id) -> waker; deadlines are non-negative.
    timers: BTreeMap<(u64, u64), Option<Waker>>,
}

/// A clock whose time advances only through [`VirtualClock::advance`] or
/// [`VirtualClock::run`], which jumps to the next timer whenever every task
/// is waiting. A 60-second breaker timeout takes microseconds.
pub struct VirtualClock {
    state: RefCell<State>,
    me: Weak<VirtualClock>,
}

impl VirtualClock {
    /// A clock at monotonic 0 and wall time `wall_start_ms`.
    pub fn new(wall_start_ms: f64) -> Rc<Self> {
        Rc::new_cyclic(|me| Self {
            state: RefCell::new(State {
                wall_offset: wall_start_ms,
                ..State::default()
            }),
            me: me.clone(),
        })
    }

    /// Moves time forward by `ms`, waking every timer due by then.
    pub fn advance(&self, ms: f64) {
        let target = self.state.borrow().now + ms.max(0.0);
        self.advance_to(target);
    }

    fn advance_to(&self, target: f64) {
        let due: Vec<Waker> = {
            let mut state = self.state.borrow_mut();
            state.now = state.now.max(target);
            let limit = (state.now.to_bits(), u64::MAX);
            let later = state.timers.split_off(&(limit.0, limit.1));
            let due = std::mem::replace(&mut state.timers, later);
            due.into_values().flatten().collect()
        };
        for waker in due {
            waker.wake();
        }
    }

    /// Pending timers.
    pub fn pending_timers(&self) -> usize {
        self.state.borrow().timers.len()
    }

    fn next_deadline(&self) -> Option<f64> {
        self.state
            .borrow()
            .timers
            .keys()
            .next()
            .map(|(bits, _)| f64::from_bits(*bits))
    }

    /// Runs `future` to completion on a local executor, jumping virtual
    /// time to the next timer whenever every task is waiting.
    ///
    /// # Errors
    /// When every task waits and no timer is set (a deadlock).
    pub fn run<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> Result<T, String> {
        let mut results = self.run_all(vec![Box::pin(future)])?;
        results.pop().ok_or_else(|| "no result".to_owned())
    }

    /// Runs every future concurrently; results come back in order.
    ///
    /// # Errors
    /// As [`VirtualClock::run`].
    pub fn run_all<T: 'static>(&self, futures: Vec<LocalBoxFuture<'static, T>>) -> Result<Vec<T>, String> {
        let mut pool = LocalPool::new();
        let slots: Rc<RefCell<Vec<Option<T>>>> = Rc::new(RefCell::new((0..futures.len()).map(|_| None).collect()));
        for (i, future) in futures.into_iter().enumerate() {
            let slots = Rc::clone(&slots);
            pool.spawner()
                .spawn_local(async move {
                    let value = future.await;
                    if let Some(slot) = slots.borrow_mut().get_mut(i) {
                        *slot = Some(value);
                    }
                })
                .map_err(|e| e.to_string())?;
        }
        loop {
            pool.run_until_stalled();
            if slots.borrow().iter().all(Option::is_some) {
                break;
            }
            match self.next_deadline() {
                Some(at) => self.advance_to(at),
                None => return Err("deadlock: every task waits and no timer is set".into()),
            }
        }
        let values = std::mem::take(&mut *slots.borrow_mut());
        Ok(values.into_iter().flatten().collect())
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> f64 {
        self.state.borrow().now
    }

    fn wall_ms(&self) -> f64 {
        let state = self.state.borrow();
        state.wall_offset + state.now
    }
}

impl Sleeper for VirtualClock {
    fn sleep(&self, ms: f64) -> LocalBoxFuture<'static, ()> {
        let delay = if ms.is_finite() {
            ms.max(0.0)
        } else if ms > 0.0 {
            f64::MAX
        } else {
            0.0
        };
        let mut state = self.state.borrow_mut();
        let deadline = state.now + delay;
        let id = state.next_id;
        state.next_id += 1;
        state.timers.insert((deadline.to_bits(), id), None);
        Box::pin(Sleep {
            clock: self.me.clone(),
            key: (deadline.to_bits(), id),
            deadline,
        })
    }
}

struct Sleep {
    clock: Weak<VirtualClock>,
    key: (u64, u64),
    deadline: f64,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(clock) = self.clock.upgrade() else {
            return Poll::Ready(());
        };
        let mut state = clock.state.borrow_mut();
        if state.now >= self.deadline {
            state.timers.remove(&self.key);
            return Poll::Ready(());
        }
        state.timers.insert(self.key, Some(cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // A dropped sleep clears its timer.
        if let Some(clock) = self.clock.upgrade() {
            if let Ok(mut state) = clock.state.try_borrow_mut() {
                state.timers.remove(&self.key);
            }
        }
    }
}
