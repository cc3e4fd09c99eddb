//! Reading configuration: serde with field paths, and the validating
//! number readers config structs use.
//!
//! Config structs derive `Deserialize` (camelCase names, the seed's
//! snake_case spellings as aliases) and validate single values while they
//! are read, so an error carries the path exactly as the user spelled it
//! (`reliability.retry_policy.max_attempts` or `...retryPolicy.maxAttempts`).
//!
//! Config structs also deny unknown fields; [`read`] turns serde's
//! "unknown field" error into one naming the key's full path with a
//! "did you mean" suggestion. Struct-typed values must be objects
//! ([`Object`]: serde would otherwise read `[5]` as a struct's first field),
//! and [`read_object`] treats `null` members as not given.

use std::fmt;
use std::marker::PhantomData;

mod numbers;

pub use numbers::{
    at_least_one, attempts, count, non_negative, opt_non_negative, opt_positive, positive, unit_interval,
};

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::model::error::OrchestratorError;

/// Deserializes `T` from any serde deserializer, turning a failure into an
/// error that names the failing field below `prefix`.
///
/// # Errors
/// [`OrchestratorError::InvalidConfig`] (or `InvalidRequest` when `request`
/// is set) whose `field` is `prefix` joined with the failing path.
pub fn read<'de, T, D>(deserializer: D, prefix: &str, request: bool) -> Result<T, OrchestratorError>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = join_path(prefix, &path);
        let message = explain_unknown(&error.into_inner().to_string());
        if request {
            OrchestratorError::request(field, message)
        } else {
            OrchestratorError::config(field, message)
        }
    })
}

/// [`read`] from a JSON value.
///
/// # Errors
/// As [`read`].
pub fn from_json<T: DeserializeOwned>(value: &serde_json::Value, prefix: &str) -> Result<T, OrchestratorError> {
    read(value, prefix, false)
}

/// Reads a config object (`T` must be read from a JSON object) at the root:
/// members that are `null` mean "not given" and are dropped first, except a
/// condition's `value` (where `null` is an operand) and anything inside tool
/// options (passed to the tool as written). A `null` root is `T::default()`.
///
/// # Errors
/// As [`read`]: `invalid_config`, or `invalid_request` when `request` is set.
pub fn read_object<T: DeserializeOwned + Default>(value: &Value, request: bool) -> Result<T, OrchestratorError> {
    let mut value = value.clone();
    strip_nulls(&mut value);
    if value.is_null() {
        return Ok(T::default());
    }
    read::<Object<T>, _>(&value, "", request).map(|o| o.0)
}

/// Keys whose values are opaque JSON, not config: kept as written.
const OPAQUE_KEYS: [&str; 3] = ["value", "toolOptions", "tool_options"];

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, v| !v.is_null() || key == "value");
            for (key, v) in map.iter_mut() {
                if !OPAQUE_KEYS.contains(&key.as_str()) {
                    strip_nulls(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// A `T` that must be written as an object (a map), never as an array.
/// serde's derived structs also accept a sequence of field values, so
/// `retryPolicy: [5]` would silently read as `maxAttempts: 5`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

/// A struct written as an object (see [`Object`]).
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::<T>::deserialize(d).map(|o| o.0)
}

/// An optional struct written as an object (see [`Object`]).
pub fn opt_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// An array of structs, each written as an object (see [`Object`]).
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Object<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// Opaque options (`toolOptions`): a JSON object, or `null` / absent.
pub fn opt_json_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(other) => Err(D::Error::custom(format!(
            "must be an object or null, got {}",
            kind(&other)
        ))),
    }
}

/// Any JSON value, `null` included, as `Some` (with `#[serde(default)]`
/// an absent member stays `None`, so the two can be told apart).
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A JSON value's type, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Rewrites serde's `unknown field `x`, expected one of `a`, `b`` (and
/// `unknown variant ...`) into a message with a "did you mean" suggestion
/// and the known names without duplicate snake_case spellings; other
/// messages are returned unchanged.
fn explain_unknown(message: &str) -> String {
    let (noun, rest) = match (
        message.strip_prefix("unknown field `"),
        message.strip_prefix("unknown variant `"),
    ) {
        (Some(rest), _) => ("key", rest),
        (None, Some(rest)) => ("value", rest),
        (None, None) => return message.to_owned(),
    };
    let Some((name, expected)) = rest.split_once("`, ") else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    describe_unknown(noun, name, &known)
}

/// "unknown `noun` `name`", with the closest of `known` as a "did you mean"
/// and the known names listed (camelCase only where both spellings exist).
pub fn describe_unknown(noun: &str, name: &str, known: &[&str]) -> String {
    let mut out = format!("unknown {noun} `{name}`");
    if let Some(suggestion) = suggest(name, known) {
        out.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    let listed: Vec<String> = known
        .iter()
        .filter(|k| !(k.contains('_') && known.contains(&camel_case(k).as_str())))
        .map(|k| format!("`{k}`"))
        .collect();
    if listed.is_empty() {
        out.push_str(" (none are accepted here)");
    } else {
        out.push_str(&format!(" (expected one of {})", listed.join(", ")));
    }
    out
}

fn camel_case(snake: &str) -> String {
    let mut parts = snake.split('_');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// The known name closest to `name`, if one is close enough to be a
/// likely typo: compared case-insensitively and ignoring `_` and `-`
/// (a small edit distance, or one a prefix of the other, 4 characters or
/// more), then by exact edit distance, camelCase before snake_case.
pub fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let normal = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = normal(name);
    let close = |candidate: &str, distance: usize| {
        let length = wanted.chars().count().max(candidate.chars().count());
        let allowed = match length {
            0..=3 => 1,
            4..=7 => 2,
            _ => 3,
        };
        let (short, long) = if wanted.len() <= candidate.len() {
            (wanted.as_str(), candidate)
        } else {
            (candidate, wanted.as_str())
        };
        (distance <= allowed && distance < length) || (short.chars().count() >= 4 && long.starts_with(short))
    };
    known
        .iter()
        .filter_map(|k| {
            let candidate = normal(k);
            let distance = edit_distance(&wanted, &candidate);
            close(&candidate, distance).then(|| (*k, distance, edit_distance(name, k), k.contains('_')))
        })
        .min_by_key(|(_, normal, raw, snake)| (*normal, *raw, *snake))
        .map(|(k, ..)| k)
}

/// Levenshtein distance between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).map_or(usize::MAX, |d| d + usize::from(ca != *cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or_default()
}

/// Joins a config prefix and a serde path (`"."` means the root).
pub fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path == "." || path.is_empty()) {
        (_, true) => prefix.to_owned(),
        (true, false) => path.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, explain_unknown, join_path, suggest};

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("retyPolicy", "retryPolicy"), 1);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn suggestions_are_close_names_only() {
        let known = ["retryPolicy", "retry_policy", "circuitBreakers", "circuit_breakers"];
        assert_eq!(suggest("retyPolicy", &known), Some("retryPolicy"));
        assert_eq!(suggest("retry_polcy", &known), Some("retry_policy"));
        assert_eq!(suggest("RetryPolicy", &known), Some("retryPolicy"));
        assert_eq!(suggest("circuitbreaker", &known), Some("circuitBreakers"));
        assert_eq!(suggest("planner", &known), None);
        assert_eq!(suggest("x", &["op"]), None);
        assert_eq!(suggest("x", &[]), None);
        assert_eq!(suggest("cost", &["tokens", "costUsd", "cost_usd"]), Some("costUsd"));
        assert_eq!(suggest("max", &["maxAttempts", "maxDelay"]), None);
    }

    #[test]
    fn unknown_field_messages_get_a_suggestion() {
        let message = explain_unknown(
            "unknown field `retyPolicy`, expected one of `retryPolicy`, `retry_policy`, `jitter`, `circuit_breaker_configs`",
        );
        assert!(message.contains("did you mean `retryPolicy`?"), "{message}");
        assert!(
            message.ends_with("(expected one of `retryPolicy`, `jitter`, `circuit_breaker_configs`)"),
            "{message}"
        );
        let variant = explain_unknown("unknown variant `proced`, expected `fail` or `proceed`");
        assert!(variant.contains("did you mean `proceed`?"), "{variant}");
        assert_eq!(explain_unknown("missing field `op`"), "missing field `op`");
    }

    #[test]
    fn joins_paths_like_a_user_writes_them() {
        assert_eq!(join_path("planner", "rules[2].action"), "planner.rules[2].action");
        assert_eq!(join_path("planner.rules", "[2]"), "planner.rules[2]");
        assert_eq!(join_path("reliability", "."), "reliability");
        assert_eq!(join_path("", "a.b"), "a.b");
    }
}
