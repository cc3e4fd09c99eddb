//! The numbers config accepts: finite, within bounds, each refusal saying
//! what was expected and what was given.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

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
