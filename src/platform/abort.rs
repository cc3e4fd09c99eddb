//! Cancellation: a single-threaded `AbortSignal`.
//!
//! Each run owns a signal; each attempt gets a child of it. Aborting a
//! parent aborts every child (but not the other way round), so a run
//! deadline stops the tool in flight while an attempt timeout stops only
//! its own attempt. Hosts bridge it to their own primitive (the wasm
//! bindings mirror it into a JS `AbortController` for `ctx.signal`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

/// Why a signal was aborted; decides which error the run reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortReason {
    /// The caller aborted (a JS `AbortSignal`).
    Aborted,
    /// The run passed its `timeoutMs` deadline.
    Deadline,
    /// The run used up its `budget.timeMs`.
    TimeBudget,
    /// One attempt passed its `attemptTimeoutMs`.
    AttemptTimeout,
    /// The work is no longer needed (e.g. a bundle replicate after consensus).
    Superseded,
}

type Callback = Box<dyn FnOnce(AbortReason)>;

#[derive(Default)]
struct Inner {
    /// Made by [`AbortSignal::quiet`]: nobody will abort it.
    quiet: bool,
    reason: Option<AbortReason>,
    wakers: Vec<Waker>,
    callbacks: Vec<Callback>,
}

/// A cloneable cancellation flag with wake-ups and callbacks.
#[derive(Clone, Default)]
pub struct AbortSignal(Rc<RefCell<Inner>>);

impl AbortSignal {
    /// A signal that is not aborted.
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal its maker promises never to abort: nothing can end the call
    /// it goes with (no caller signal, deadline or timeout). A host may skip
    /// what making a call cancellable costs (`fetch` with an `AbortSignal`
    /// costs Node's undici about 65 µs a request).
    pub fn quiet() -> Self {
        Self(Rc::new(RefCell::new(Inner {
            quiet: true,
            ..Inner::default()
        })))
    }

    /// Whether the signal may ever abort: `false` only for [`Self::quiet`].
    pub fn may_abort(&self) -> bool {
        !self.0.borrow().quiet
    }

    /// A signal that aborts, with the same reason, whenever `self` does.
    pub fn child(&self) -> Self {
        let child = Self::new();
        let weak: Weak<RefCell<Inner>> = Rc::downgrade(&child.0);
        self.on_abort(Box::new(move |reason| {
            if let Some(inner) = weak.upgrade() {
                AbortSignal(inner).abort(reason);
            }
        }));
        child
    }

    /// Aborts the signal. The first reason wins; later calls do nothing.
    pub fn abort(&self, reason: AbortReason) {
        let (wakers, callbacks) = {
            let mut inner = self.0.borrow_mut();
            if inner.reason.is_some() {
                return;
            }
            inner.reason = Some(reason);
            (std::mem::take(&mut inner.wakers), std::mem::take(&mut inner.callbacks))
        };
        // Callbacks run without the borrow held: they may touch this signal.
        for callback in callbacks {
            callback(reason);
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// Why the signal was aborted, if it was.
    pub fn reason(&self) -> Option<AbortReason> {
        self.0.borrow().reason
    }

    /// Whether the signal was aborted.
    pub fn is_aborted(&self) -> bool {
        self.reason().is_some()
    }

    /// Runs `callback` once when the signal aborts (at once if it already has).
    pub fn on_abort(&self, callback: Callback) {
        let reason = {
            let mut inner = self.0.borrow_mut();
            match inner.reason {
                Some(reason) => reason,
                None => {
                    inner.callbacks.push(callback);
                    return;
                }
            }
        };
        callback(reason);
    }

    /// A future that resolves with the reason once the signal aborts.
    pub fn aborted(&self) -> Aborted {
        Aborted(self.clone())
    }
}

/// Future returned by [`AbortSignal::aborted`].
pub struct Aborted(AbortSignal);

impl Future for Aborted {
    type Output = AbortReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<AbortReason> {
        let mut inner = (self.0).0.borrow_mut();
        if let Some(reason) = inner.reason {
            return Poll::Ready(reason);
        }
        if !inner.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            inner.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_follows_parent_not_the_reverse() {
        let parent = AbortSignal::new();
        let child = parent.child();
        let other = parent.child();
        child.abort(AbortReason::AttemptTimeout);
        assert!(!parent.is_aborted());
        parent.abort(AbortReason::Deadline);
        assert_eq!(child.reason(), Some(AbortReason::AttemptTimeout));
        assert_eq!(other.reason(), Some(AbortReason::Deadline));
    }

    #[test]
    fn first_reason_wins_and_late_callbacks_run_at_once() {
        let signal = AbortSignal::new();
        signal.abort(AbortReason::Aborted);
        signal.abort(AbortReason::Deadline);
        let seen = Rc::new(RefCell::new(None));
        let seen2 = seen.clone();
        signal.on_abort(Box::new(move |r| *seen2.borrow_mut() = Some(r)));
        assert_eq!(*seen.borrow(), Some(AbortReason::Aborted));
    }
}
