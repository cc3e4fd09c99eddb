//! The delay schedule: pure arithmetic, no sleeping.
//!
//! The n-th retry waits `min(max, initial * factor^(n-1))`, then jitter
//! shortens it by a random fraction up to `jitter`. Capping first and only
//! ever shortening means no wait exceeds `max`, whatever the jitter (unlike
//! schedules that add jitter after the cap).

/// Delay before retry number `retry` (1 for the first retry), in ms.
///
/// `unit` is a random draw in `[0, 1)`; the result lies in
/// `[d * (1 - jitter), d]` where `d = min(max_ms, initial_ms * factor^(retry-1))`.
pub fn delay_ms(initial_ms: f64, max_ms: f64, factor: f64, jitter: f64, retry: u32, unit: f64) -> f64 {
    let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
    let grown = initial_ms * factor.powi(exponent);
    // An overflow to infinity (or NaN from 0 * inf) simply means "the cap".
    let capped = if grown.is_finite() { grown.min(max_ms) } else { max_ms };
    let shortened = capped * (1.0 - jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0));
    shortened.clamp(0.0, max_ms.max(0.0))
}

// Property tests need proptest, which is not built for wasm32.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::delay_ms;
    use proptest::prelude::*;

    #[test]
    fn exponential_then_capped() {
        let d = |n| delay_ms(1000.0, 30_000.0, 2.0, 0.0, n, 0.5);
        assert_eq!(
            [d(1), d(2), d(3), d(5), d(6), d(40)],
            [1000.0, 2000.0, 4000.0, 16_000.0, 30_000.0, 30_000.0]
        );
    }

    #[test]
    fn jitter_only_shortens() {
        assert_eq!(delay_ms(1000.0, 30_000.0, 2.0, 0.1, 1, 0.0), 1000.0);
        assert!((delay_ms(1000.0, 30_000.0, 2.0, 0.1, 1, 0.999_999) - 900.0).abs() < 0.01);
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config(256))]
        #[test]
        fn never_exceeds_max_delay(
            initial in 0.0f64..1e7, extra in 0.0f64..1e7, factor in 1.0f64..1e3,
            jitter in 0.0f64..=1.0, retry in 1u32..200, unit in 0.0f64..1.0,
        ) {
            let max = initial + extra;
            let d = delay_ms(initial, max, factor, jitter, retry, unit);
            prop_assert!(d <= max);
            prop_assert!(d >= 0.0);
            let undelayed = delay_ms(initial, max, factor, 0.0, retry, unit);
            prop_assert!(d >= undelayed * (1.0 - jitter) - 1e-6);
        }
    }
}
