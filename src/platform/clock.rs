//! Time as the core sees it.

use futures::future::LocalBoxFuture;

/// Monotonic and wall-clock time in milliseconds.
///
/// Reliability decisions (breaker windows, deadlines, budgets) use the
/// monotonic reading, which never jumps; wall time is only for what leaves
/// the process: event timestamps, record expiry, exported breaker state and
/// `Retry-After` HTTP-dates.
pub trait Clock {
    /// Milliseconds on a monotonic clock with an arbitrary origin
    /// (`performance.now()` in JS).
    fn now_ms(&self) -> f64;
    /// Milliseconds since the Unix epoch (`Date.now()` in JS).
    fn wall_ms(&self) -> f64;
}

/// Asynchronous sleep.
///
/// Dropping the returned future must cancel the underlying timer, so an
/// aborted wait leaves nothing behind.
pub trait Sleeper {
    /// Resolves after `ms` milliseconds (at once when `ms <= 0` or NaN).
    fn sleep(&self, ms: f64) -> LocalBoxFuture<'static, ()>;
}
