//! Idempotency: store keys, fingerprints, records, and single-flight.
//!
//! A keyed run's record lives in the host's store under a namespaced,
//! hashed key (the caller's key never reaches the store, and its length is
//! bounded). The record holds a fingerprint of what was asked (canonical
//! JSON of request, tool choice and options, SHA-256), so a reused key with
//! a different request is detected. While a run executes, its record says
//! `in_progress` with a lease; once done it holds the result until it
//! expires. Within one isolate, runs with the same key share one execution
//! ([`SingleFlight`]) before the store is even asked.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::error::{ConflictReason, OrchestratorError};
use crate::platform::{Sleeper, Usage};

/// Prefix of every store key this crate writes.
pub const STORE_KEY_PREFIX: &str = "ro:idem:v1:";
/// Longest idempotency key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 256;

/// Checks a caller's idempotency key.
///
/// # Errors
/// `invalid_request` on `idempotencyKey` when empty or too long.
pub fn validate_key(key: &str) -> Result<(), OrchestratorError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(OrchestratorError::request(
            "idempotencyKey",
            format!("must be 1 to {MAX_KEY_CHARS} characters, got {chars}"),
        ));
    }
    Ok(())
}

/// The store key for a caller's key: namespaced and hashed, 75 characters.
pub fn store_key(key: &str) -> String {
    format!(
        "{STORE_KEY_PREFIX}{}",
        crate::model::hex::encode(&Sha256::digest(key.as_bytes()))
    )
}

/// SHA-256 (hex) of the canonical JSON of request, tool choice and options.
pub fn fingerprint(request: &Value, tool_name: &str, options: &Value) -> String {
    let mut text = String::new();
    text.push_str("{\"options\":");
    canonical_json(options, &mut text);
    text.push_str(",\"request\":");
    canonical_json(request, &mut text);
    text.push_str(",\"tool\":");
    canonical_json(&Value::String(tool_name.to_owned()), &mut text);
    text.push('}');
    crate::model::hex::encode(&Sha256::digest(text.as_bytes()))
}

/// Writes `value` as JSON with object keys sorted, so key order never
/// changes a fingerprint; numbers are written as f64 so `1` and `1.0` agree.
pub fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&crate::model::json::text(key));
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => out.push_str(&format!("{}", f as i64)),
            Some(f) => out.push_str(&format!("{f}")),
            None => out.push_str(&n.to_string()),
        },
        other => out.push_str(&crate::model::json::text(other)),
    }
}

/// A record's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// A run holds the key; `expiresAt` is its lease.
    InProgress,
    /// The result is stored.
    Completed,
}

/// The result kept for replay. Holds no credentials: only what the tool returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResult {
    /// The tool's output.
    pub output: Value,
    /// The tool that produced it.
    pub tool_name: String,
    /// Calls the original run made.
    pub attempts: u32,
    /// Tokens the original run used.
    pub usage: Usage,
    /// What the original run cost.
    pub cost_usd: Option<f64>,
    /// The original run's assistant message, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
}

/// What the store holds under a key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Format version.
    pub v: u32,
    /// Phase.
    pub state: RecordState,
    /// Fingerprint of what was asked.
    pub fingerprint: String,
    /// Wall-clock expiry (ms): the lease while in progress, the TTL after.
    pub expires_at: f64,
    /// The result, once completed.
    pub result: Option<StoredResult>,
}

impl Record {
    /// A lease on the key until `expires_at`.
    pub fn in_progress(fingerprint: &str, expires_at: f64) -> Self {
        Self {
            v: 1,
            state: RecordState::InProgress,
            fingerprint: fingerprint.to_owned(),
            expires_at,
            result: None,
        }
    }

    /// A completed run's result, kept until `expires_at`.
    pub fn completed(fingerprint: &str, expires_at: f64, result: StoredResult) -> Self {
        Self {
            v: 1,
            state: RecordState::Completed,
            fingerprint: fingerprint.to_owned(),
            expires_at,
            result: Some(result),
        }
    }

    /// The record as stored.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a stored value means for a new run.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    /// Nothing usable: run the tool.
    Miss,
    /// A completed result to replay.
    Replay(StoredResult),
    /// The key cannot be used now.
    Conflict(ConflictReason),
}

/// Reads a stored value (`None`, unparseable or expired all mean a miss).
pub fn classify(stored: Option<&str>, fingerprint: &str, conflict_detection: bool, wall_now: f64) -> Found {
    let Some(record) = stored.and_then(|s| serde_json::from_str::<Record>(s).ok()) else {
        return Found::Miss;
    };
    if record.expires_at <= wall_now {
        return Found::Miss;
    }
    let mismatch = conflict_detection && record.fingerprint != fingerprint;
    match (record.state, record.result) {
        _ if mismatch => Found::Conflict(ConflictReason::FingerprintMismatch),
        (RecordState::Completed, Some(result)) => Found::Replay(result),
        (RecordState::InProgress, _) => Found::Conflict(ConflictReason::InProgress),
        (RecordState::Completed, None) => Found::Miss,
    }
}

/// An execution under way, shared by the runs that joined it.
pub type Flight<T> = Shared<LocalBoxFuture<'static, T>>;

/// Runs with the same key in one isolate share one execution.
pub struct SingleFlight<T: Clone> {
    flights: RefCell<HashMap<String, (String, Flight<T>)>>,
    /// Executions started so far: a record read made before another started
    /// may be stale (that execution may have written the key since).
    started: std::cell::Cell<u64>,
}

/// How a run takes part in a key's execution.
pub enum Joined<T: Clone> {
    /// This run started the execution.
    Leader(Flight<T>),
    /// This run waits for an execution already under way.
    Follower(Flight<T>),
    /// An execution is under way for another fingerprint.
    Conflict,
}

impl<T: Clone + 'static> SingleFlight<T> {
    /// No executions under way.
    pub fn new() -> Rc<Self> {
        Rc::new(Self {
            flights: RefCell::new(HashMap::new()),
            started: std::cell::Cell::new(0),
        })
    }

    /// How many executions have started (see [`Self::join`]).
    pub fn started(&self) -> u64 {
        self.started.get()
    }

    /// Whether an execution under `key` is under way.
    pub fn is_running(&self, key: &str) -> bool {
        self.flights.borrow().contains_key(key)
    }

    /// Executions under way.
    pub fn len(&self) -> usize {
        self.flights.borrow().len()
    }

    /// Whether no execution is under way.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Joins the execution under `key`, or starts `start()` as it. The
    /// entry is removed when the execution finishes or is dropped.
    pub fn join(
        self: &Rc<Self>,
        key: &str,
        fingerprint: &str,
        conflict_detection: bool,
        start: impl FnOnce() -> LocalBoxFuture<'static, T>,
    ) -> Joined<T> {
        if let Some((running, flight)) = self.flights.borrow().get(key) {
            if conflict_detection && running != fingerprint {
                return Joined::Conflict;
            }
            return Joined::Follower(flight.clone());
        }
        let guard = Leave {
            flights: Rc::downgrade(self),
            key: key.to_owned(),
        };
        self.started.set(self.started.get() + 1);
        let work = start();
        let flight = async move {
            let value = work.await;
            drop(guard);
            value
        }
        .boxed_local()
        .shared();
        self.flights
            .borrow_mut()
            .insert(key.to_owned(), (fingerprint.to_owned(), flight.clone()));
        Joined::Leader(flight)
    }
}

/// Waits for `flight` without being woken by whoever drives it: polls it on
/// this run's own timer every `every_ms` (driving it forward itself if its
/// leader went away). For hosts that forbid one request's I/O from resolving
/// another request's promise (see [`crate::platform::Platform::join_poll_ms`]).
pub async fn follow_by_polling<T: Clone>(mut flight: Flight<T>, sleeper: Rc<dyn Sleeper>, every_ms: f64) -> T {
    loop {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        if let Poll::Ready(value) = flight.poll_unpin(&mut cx) {
            return value;
        }
        sleeper.sleep(every_ms).await;
    }
}

struct Leave<T: Clone> {
    flights: Weak<SingleFlight<T>>,
    key: String,
}

impl<T: Clone> Drop for Leave<T> {
    fn drop(&mut self) {
        if let Some(flights) = self.flights.upgrade() {
            if let Ok(mut map) = flights.flights.try_borrow_mut() {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order_and_number_spelling() {
        let a = fingerprint(&json!({"b": 1, "a": {"y": [1, 2.0], "x": "s"}}), "t", &json!(null));
        let b = fingerprint(&json!({"a": {"x": "s", "y": [1.0, 2]}, "b": 1.0}), "t", &json!(null));
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&json!({"b": 1}), "t", &json!(null)));
        assert_ne!(
            a,
            fingerprint(&json!({"b": 1, "a": {"y": [1, 2.0], "x": "s"}}), "u", &json!(null))
        );
    }

    #[test]
    fn store_keys_are_hashed_and_bounded() {
        let long = "k".repeat(256);
        let key = store_key(&long);
        assert!(key.starts_with(STORE_KEY_PREFIX) && !key.contains("kkkk"));
        assert_eq!(key.len(), STORE_KEY_PREFIX.len() + 64);
        assert!(validate_key("").is_err() && validate_key(&"x".repeat(257)).is_err() && validate_key(&long).is_ok());
    }

    #[test]
    fn classify_records() {
        let done = Record::completed(
            "f",
            100.0,
            StoredResult {
                output: json!("out"),
                tool_name: "t".into(),
                attempts: 1,
                usage: Usage::default(),
                cost_usd: None,
                message: None,
            },
        )
        .to_json_string();
        assert!(matches!(classify(Some(&done), "f", true, 50.0), Found::Replay(_)));
        assert_eq!(
            classify(Some(&done), "g", true, 50.0),
            Found::Conflict(ConflictReason::FingerprintMismatch)
        );
        assert!(matches!(classify(Some(&done), "g", false, 50.0), Found::Replay(_)));
        assert_eq!(classify(Some(&done), "f", true, 100.0), Found::Miss, "expired");
        let lease = Record::in_progress("f", 100.0).to_json_string();
        assert_eq!(
            classify(Some(&lease), "f", false, 50.0),
            Found::Conflict(ConflictReason::InProgress)
        );
        assert_eq!(classify(Some("garbage"), "f", true, 0.0), Found::Miss);
        assert_eq!(classify(None, "f", true, 0.0), Found::Miss);
    }
}
