//! Reading configuration: serde with field paths, and the validating
//! number readers config structs use.
//!
//! Config structs derive `Deserialize` (camelCase names, the seed's
//! snake_case spellings as aliases) and validate single values while they
//! are read, so an error carries the path exactly as the user spelled it
//! (`reliability.retry_policy.max_attempts` or `...retryPolicy.maxAttempts`).

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use crate::error::OrchestratorError;

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
        let message = error.into_inner().to_string();
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

/// Joins a config prefix and a serde path (`"."` means the root).
pub fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path == "." || path.is_empty()) {
        (_, true) => prefix.to_owned(),
        (true, false) => path.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(D::Error::custom(format!("must be a finite number, got {value}")))
    }
}

/// A finite number `>= 0`.
pub fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = number(d)?;
    if value >= 0.0 {
        Ok(value)
    } else {
        Err(D::Error::custom(format!("must be >= 0, got {value}")))
    }
}

/// A finite number `> 0`.
pub fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = number(d)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(D::Error::custom(format!("must be > 0, got {value}")))
    }
}

/// A finite number `>= 1`.
pub fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = number(d)?;
    if value >= 1.0 {
        Ok(value)
    } else {
        Err(D::Error::custom(format!("must be >= 1, got {value}")))
    }
}

/// A number in `[0, 1]`.
pub fn unit_interval<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = number(d)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(D::Error::custom(format!("must be between 0 and 1, got {value}")))
    }
}

fn integer_in<'de, D: Deserializer<'de>>(d: D, min: u32, max: u32) -> Result<u32, D::Error> {
    let value = number(d)?;
    if value.fract() != 0.0 || value < f64::from(min) || value > f64::from(max) {
        return Err(D::Error::custom(format!(
            "must be an integer from {min} to {max}, got {value}"
        )));
    }
    // In range and integral, so the cast is exact.
    Ok(value as u32)
}

/// An integer from 1 to 100 (attempt counts).
pub fn attempts<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    integer_in(d, 1, 100)
}

/// An integer `>= 1` (breaker counts).
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    integer_in(d, 1, 1_000_000)
}

/// An optional finite number `> 0`.
pub fn opt_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        None => Ok(None),
        Some(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        Some(v) => Err(D::Error::custom(format!("must be a finite number > 0, got {v}"))),
    }
}

/// An optional finite number `>= 0`.
pub fn opt_non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        Some(v) => Err(D::Error::custom(format!("must be a finite number >= 0, got {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::join_path;

    #[test]
    fn joins_paths_like_a_user_writes_them() {
        assert_eq!(join_path("planner", "rules[2].action"), "planner.rules[2].action");
        assert_eq!(join_path("planner.rules", "[2]"), "planner.rules[2]");
        assert_eq!(join_path("reliability", "."), "reliability");
        assert_eq!(join_path("", "a.b"), "a.b");
    }
}
