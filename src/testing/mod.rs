//! Test doubles for driving the core deterministically, for this crate's
//! tests and for users testing their own setups: a virtual clock whose
//! sleeps take no real time, a seeded random source, a scripted tool, a
//! store that fails on demand, and an event recorder.

mod clock;
mod http;
mod kv;
mod tool;

use std::cell::RefCell;
use std::rc::Rc;

pub use clock::VirtualClock;
pub use http::{Reply, ScriptedHttp};
pub use kv::FlakyKv;
pub use tool::{Piece, ScriptedTool, Step};

use crate::model::event::{Event, EventSink};
use crate::platform::{Platform, Random};

/// The seed every randomized test starts from: `RO_SEED` when it is set (to replay a printed
/// seed, or to soak with others), else a fixed default, so a test run is reproducible.
pub fn test_seed() -> u64 {
    const DEFAULT_SEED: u64 = 20_261_201;
    std::env::var("RO_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// Proptest settings for this crate's unit tests: `cases` cases from [`test_seed`], which is
/// printed so a failure's output names the seed that replays it.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    let seed = test_seed();
    eprintln!("proptest seed: RO_SEED={seed}");
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// A deterministic random source (xorshift64*), seeded.
pub struct SeededRandom(RefCell<u64>);

impl SeededRandom {
    /// A source from `seed` (0 is replaced by a fixed non-zero seed).
    pub fn new(seed: u64) -> Self {
        Self(RefCell::new(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed }))
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        let mut state = self.0.borrow_mut();
        for chunk in buf.chunks_mut(8) {
            *state ^= *state >> 12;
            *state ^= *state << 25;
            *state ^= *state >> 27;
            let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            for (b, w) in chunk.iter_mut().zip(word) {
                *b = w;
            }
        }
    }
}

/// A [`Platform`] on `clock` with a seeded random source.
pub fn virtual_platform(clock: &Rc<VirtualClock>, seed: u64) -> Platform {
    Platform {
        join_poll_ms: None,
        clock: clock.clone(),
        sleeper: clock.clone(),
        random: Rc::new(SeededRandom::new(seed)),
    }
}

/// Keeps every event it receives.
#[derive(Default)]
pub struct RecordingSink {
    events: RefCell<Vec<Event>>,
}

impl RecordingSink {
    /// An empty recorder.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.borrow().clone()
    }

    /// The events so far as JSON (`{ type, at, traceId, ... }`).
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.events
            .borrow()
            .iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect()
    }

    /// The `type` of each event so far.
    pub fn types(&self) -> Vec<String> {
        self.json()
            .iter()
            .filter_map(|e| e.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .collect()
    }
}

impl EventSink for RecordingSink {
    fn emit(&self, event: &Event) {
        self.events.borrow_mut().push(event.clone());
    }
}
