//! Conditions: a path, an operator and an operand, checked against a request.

use regex_lite::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::Value;

use super::view::Lowered;
use super::{Path, RequestView};
use crate::model::error::OrchestratorError;
use crate::model::payload::Payload;

/// Longest regex pattern accepted, in bytes.
pub const MAX_REGEX_BYTES: usize = 1024;
/// Compiled-program size limit handed to the regex engine.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Operator names accepted in config (`eq`, `ne` and `notEquals` are aliases).
const OPERATORS: [&str; 13] = [
    "equals",
    "not_equals",
    "contains",
    "in",
    "exists",
    "regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "eq",
    "ne",
    "notEquals",
];

/// An operator with its compiled operand.
#[derive(Clone, Debug)]
pub enum Op {
    /// Strict JSON equality (numbers compare by value: `1 == 1.0`).
    Equals(Value),
    /// Not equal; holds when the path is missing.
    NotEquals(Value),
    /// Case-sensitive substring of a string, or member of an array.
    Contains(Value),
    /// Equal to one of the listed values.
    In(Vec<Value>),
    /// Present and not null (`true`), or absent or null (`false`).
    Exists(bool),
    /// A string matching the pattern (linear-time engine, size-limited).
    Regex(Regex),
    /// Greater than a number.
    Gt(f64),
    /// Greater than or equal to a number.
    Gte(f64),
    /// Less than a number.
    Lt(f64),
    /// Less than or equal to a number.
    Lte(f64),
    /// A string containing any of these (already lowercased), case-insensitively.
    /// What keyword rules compile to.
    /// Each keyword is kept with its bytes, as the text it is searched in is.
    ContainsAnyIgnoreCase(Vec<Lowered>),
}

/// A condition as written in config: `{ path, op, value }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// Dotted path into the request.
    pub path: String,
    /// Operator name.
    pub op: String,
    /// Operand (omitted for `exists`, which then means `true`); `Some(Null)`
    /// when written as `null`.
    #[serde(default, deserialize_with = "crate::model::config::present")]
    pub value: Option<Value>,
}

/// A compiled condition.
#[derive(Clone, Debug)]
pub struct Condition {
    /// Where to look.
    pub path: Path,
    /// What must hold there.
    pub op: Op,
}

impl Condition {
    /// Compiles a condition; `field` is its config path for errors.
    ///
    /// # Errors
    /// `invalid_config` naming `{field}.path`, `{field}.op` or `{field}.value`.
    pub fn compile(config: &ConditionConfig, field: &str) -> Result<Self, OrchestratorError> {
        let path = Path::parse(&config.path).map_err(|m| OrchestratorError::config(format!("{field}.path"), m))?;
        let bad_value = |m: &str| OrchestratorError::config(format!("{field}.value"), m.to_owned());
        let value = config.value.clone().unwrap_or(Value::Null);
        let number = || {
            value
                .as_f64()
                .filter(|n| n.is_finite())
                .ok_or_else(|| bad_value("must be a finite number"))
        };
        let op = match config.op.as_str() {
            "equals" | "eq" => Op::Equals(value),
            "not_equals" | "notEquals" | "ne" => Op::NotEquals(value),
            "contains" => Op::Contains(value),
            "in" => match value {
                Value::Array(items) => Op::In(items),
                _ => return Err(bad_value("must be an array")),
            },
            "exists" => match &config.value {
                None => Op::Exists(true),
                Some(Value::Bool(b)) => Op::Exists(*b),
                Some(other) => {
                    return Err(bad_value(&format!(
                        "must be true or false (or omitted, meaning true), got {}",
                        crate::model::config::kind(other)
                    )))
                }
            },
            "regex" => Op::Regex(compile_regex(&value).map_err(|m| bad_value(&m))?),
            "gt" => Op::Gt(number()?),
            "gte" => Op::Gte(number()?),
            "lt" => Op::Lt(number()?),
            "lte" => Op::Lte(number()?),
            other => {
                let hint = crate::model::config::suggest(other, &OPERATORS)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(OrchestratorError::config(
                    format!("{field}.op"),
                    format!("unknown operator `{other}`{hint} (expected equals, not_equals, contains, in, exists, regex, gt, gte, lt or lte)"),
                ));
            }
        };
        Ok(Self { path, op })
    }

    /// Whether the condition holds, reading through a shared view of the request.
    pub fn holds_in<V: Payload>(&self, view: &RequestView<'_, V>) -> bool {
        if let Op::ContainsAnyIgnoreCase(words) = &self.op {
            return view
                .lowercase(&self.path)
                .is_some_and(|lower| contains_any(words, &lower));
        }
        let found = view.lookup(&self.path);
        let found = found.as_deref();
        match &self.op {
            Op::NotEquals(expected) => !found.is_some_and(|v| json_eq(v, expected)),
            Op::Exists(wanted) => found.is_some_and(|v| !v.is_null()) == *wanted,
            op => found.is_some_and(|v| op_holds(op, v)),
        }
    }
}

/// Whether `haystack` contains any of `words`; one whose bytes are not all in
/// it is ruled out without a scan.
fn contains_any(words: &[Lowered], haystack: &Lowered) -> bool {
    words
        .iter()
        .any(|w| haystack.bytes.covers(&w.bytes) && contains(&haystack.text, &w.text))
}

/// Natively `str::contains` (vectorised); in wasm, where setting up its
/// searcher on every call was most of a plan's time, short keywords are found
/// by scanning for their first byte: at most `SHORT_KEYWORD` compares per byte
/// of the request, so still linear.
#[cfg(not(target_arch = "wasm32"))]
fn contains(haystack: &str, word: &str) -> bool {
    haystack.contains(word)
}

#[cfg(target_arch = "wasm32")]
const SHORT_KEYWORD: usize = 32;

#[cfg(target_arch = "wasm32")]
fn contains(haystack: &str, word: &str) -> bool {
    let needle = word.as_bytes();
    let Some(&first) = needle.first().filter(|_| needle.len() <= SHORT_KEYWORD) else {
        return haystack.contains(word);
    };
    let hay = haystack.as_bytes();
    hay.iter()
        .enumerate()
        .any(|(i, &b)| b == first && hay.get(i..i + needle.len()) == Some(needle))
}

fn op_holds(op: &Op, value: &Value) -> bool {
    match op {
        Op::Equals(expected) => json_eq(value, expected),
        Op::Contains(needle) => match (value, needle) {
            (Value::String(hay), Value::String(needle)) => hay.contains(needle.as_str()),
            (Value::Array(items), needle) => items.iter().any(|item| json_eq(item, needle)),
            _ => false,
        },
        Op::In(options) => options.iter().any(|option| json_eq(value, option)),
        Op::Regex(re) => value.as_str().is_some_and(|s| re.is_match(s)),
        Op::Gt(n) => value.as_f64().is_some_and(|v| v > *n),
        Op::Gte(n) => value.as_f64().is_some_and(|v| v >= *n),
        Op::Lt(n) => value.as_f64().is_some_and(|v| v < *n),
        Op::Lte(n) => value.as_f64().is_some_and(|v| v <= *n),
        Op::ContainsAnyIgnoreCase(words) => value.as_str().is_some_and(|s| contains_any(words, &Lowered::new(s))),
        Op::NotEquals(_) | Op::Exists(_) => false,
    }
}

fn compile_regex(pattern: &Value) -> Result<Regex, String> {
    let pattern = pattern.as_str().ok_or("must be a string pattern")?;
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(format!(
            "pattern is {} bytes; at most {MAX_REGEX_BYTES} allowed",
            pattern.len()
        ));
    }
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex: {e}"))
}

/// Strict JSON equality, except that numbers compare by value.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) => xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_eq(x, y)),
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len() && xs.iter().all(|(k, x)| ys.get(k).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}
