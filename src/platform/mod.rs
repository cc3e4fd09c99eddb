//! The only doors between the core and the world.
//!
//! The core never reads a clock, sleeps, draws randomness, stores a byte or
//! calls a tool by itself: it asks one of these small traits. A host (the
//! wasm bindings, a native program, a test) provides them once, in a
//! [`Platform`], and tools and a store per orchestrator.
//!
//! Every future here is a [`LocalBoxFuture`](futures::future::LocalBoxFuture):
//! the core is single-threaded by design, like the JS event loop it runs on,
//! so nothing asks for `Send`.

mod abort;
mod clock;
mod http;
mod kv;
mod random;
mod stream;
mod tool;
mod validator;

use std::rc::Rc;

pub use crate::model::reasons::{InterruptReason, StoreError};
pub use crate::model::usage::{TokenFit, ToolEstimate, Usage};
pub use abort::{AbortReason, AbortSignal};
pub use clock::{Clock, Sleeper};
pub use http::{HttpClient, HttpError, HttpRequest, HttpResponse, StreamingResponse};
pub use kv::{compare_and_swap_by_read, put_if_absent_by_read, KvStore, MemoryKv};
pub use random::Random;
pub use stream::{text_of_output, whole_as_stream, Chunk, ChunkSink, ChunkStream, OnInterrupt};
pub use tool::{Exchange, Exchanging, ReadAnswer, Tool, ToolContext, ToolOutput};
pub use validator::{check_output, Validator};

/// The host services one orchestrator runs on: time, sleep and randomness.
#[derive(Clone)]
pub struct Platform {
    /// Monotonic and wall-clock time.
    pub clock: Rc<dyn Clock>,
    /// Asynchronous sleep on the host's timers.
    pub sleeper: Rc<dyn Sleeper>,
    /// Random bytes (request ids, span ids, jitter).
    pub random: Rc<dyn Random>,
    /// `Some(ms)` on hosts where one request's I/O must not resolve another
    /// request's promise (Cloudflare Workers cancels such continuations): a
    /// run joining another run's execution then checks for its result on
    /// its own timer, every `ms`, instead of being woken by the other run.
    pub join_poll_ms: Option<f64>,
}
