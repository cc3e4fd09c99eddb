//! The values a run carries: requests in, outputs out.
//!
//! The core never needs a whole request except to fingerprint it, so it
//! reads requests through [`Payload`]: planning looks up only the paths its
//! rules name, and a full JSON copy is made only for idempotency. Native
//! callers use [`serde_json::Value`]; the wasm bindings implement it over a
//! JS value so requests and outputs cross the boundary untouched.

use std::borrow::Cow;

use serde_json::Value;

use super::path::Path;

/// A request or output value the orchestrator passes along.
pub trait Payload: Clone + 'static {
    /// The value at `path`, if present. A string payload reads as
    /// `{ "query": <string> }`.
    fn lookup(&self, path: &Path) -> Option<Cow<'_, Value>>;

    /// The whole value as JSON (for fingerprints and stored records).
    ///
    /// # Errors
    /// Why the value cannot be represented (cyclic, too deep, not data).
    fn to_json(&self) -> Result<Value, String>;

    /// The whole value as JSON for a stored record that a replay will return:
    /// only when JSON holds it faithfully (the replay must not differ from
    /// what the first run returned). Defaults to [`Payload::to_json`].
    ///
    /// # Errors
    /// Why the value cannot be stored faithfully.
    fn to_record_json(&self) -> Result<Value, String> {
        self.to_json()
    }

    /// Rebuilds a value from its JSON (a replayed output).
    ///
    /// # Errors
    /// Why it cannot be rebuilt.
    fn from_json(value: Value) -> Result<Self, String>;
}

impl Payload for Value {
    fn lookup(&self, path: &Path) -> Option<Cow<'_, Value>> {
        match self {
            Value::String(_) => match path.segments() {
                [only] if only == "query" => Some(Cow::Borrowed(self)),
                _ => None,
            },
            _ => path.resolve(self).map(Cow::Borrowed),
        }
    }

    fn to_json(&self) -> Result<Value, String> {
        Ok(self.clone())
    }

    fn from_json(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}
