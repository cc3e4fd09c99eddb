//! Deadlines and aborts: racing work against a signal, and the watchdog
//! that aborts a signal when a deadline passes.

use std::future::Future;
use std::rc::Rc;

use futures::future::{self, Either};

use crate::platform::{AbortReason, AbortSignal, Sleeper};

/// Runs `work` until it finishes or `signal` aborts, whichever comes first.
/// When both are ready at once the abort wins: work that fails *because*
/// it was aborted (a tool rejecting on its signal) must not hide the abort.
/// Dropping the losing `work` cancels it (and any timer it holds).
///
/// # Errors
/// The abort reason when the signal won.
pub async fn until_aborted<T>(signal: &AbortSignal, work: impl Future<Output = T>) -> Result<T, AbortReason> {
    if let Some(reason) = signal.reason() {
        return Err(reason);
    }
    let work = std::pin::pin!(work);
    match future::select(signal.aborted(), work).await {
        Either::Left((reason, _)) => Err(reason),
        Either::Right((value, _)) => Ok(value),
    }
}

/// Sleeps `ms` then aborts `signal` with `reason`; never resolves after that.
/// Race it against the guarded work: dropping it clears the timer.
pub async fn watchdog(sleeper: Rc<dyn Sleeper>, ms: f64, signal: AbortSignal, reason: AbortReason) {
    sleeper.sleep(ms.max(0.0)).await;
    signal.abort(reason);
    future::pending::<()>().await;
}
