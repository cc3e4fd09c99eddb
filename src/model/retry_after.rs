//! Server retry hints: `retry-after-ms`, and `Retry-After` as seconds or an
//! HTTP-date.

use std::time::UNIX_EPOCH;

/// When the server asked us to come back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RetryHint {
    /// After this many milliseconds.
    DelayMs(f64),
    /// At this wall-clock time (ms since the Unix epoch), from an HTTP-date.
    AtWallMs(f64),
}

impl RetryHint {
    /// Parses a `Retry-After` value: delay-seconds (decimals accepted) or an
    /// HTTP-date. `None` when it is neither.
    pub fn parse_retry_after(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<f64>() {
            return (seconds.is_finite() && seconds >= 0.0).then_some(Self::DelayMs(seconds * 1000.0));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        let since_epoch = at.duration_since(UNIX_EPOCH).ok()?;
        Some(Self::AtWallMs(since_epoch.as_secs_f64() * 1000.0))
    }

    /// Parses a `retry-after-ms` value (milliseconds, decimals accepted).
    pub fn parse_retry_after_ms(value: &str) -> Option<Self> {
        let ms = value.trim().parse::<f64>().ok()?;
        (ms.is_finite() && ms >= 0.0).then_some(Self::DelayMs(ms))
    }

    /// The hint from a response's headers: `retry-after-ms` wins over
    /// `retry-after`; an unparseable one is ignored.
    pub fn from_headers(retry_after_ms: Option<&str>, retry_after: Option<&str>) -> Option<Self> {
        retry_after_ms
            .and_then(Self::parse_retry_after_ms)
            .or_else(|| retry_after.and_then(Self::parse_retry_after))
    }

    /// How long to wait from `wall_now_ms`; never negative (a date in the
    /// past means "now").
    pub fn delay_ms(self, wall_now_ms: f64) -> f64 {
        match self {
            Self::DelayMs(ms) => ms.max(0.0),
            Self::AtWallMs(at) => (at - wall_now_ms).max(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RetryHint;

    #[test]
    fn seconds_dates_and_ms() {
        assert_eq!(RetryHint::parse_retry_after("120"), Some(RetryHint::DelayMs(120_000.0)));
        assert_eq!(RetryHint::parse_retry_after(" 1.5 "), Some(RetryHint::DelayMs(1500.0)));
        assert_eq!(RetryHint::parse_retry_after("-1"), None);
        assert_eq!(RetryHint::parse_retry_after("soon"), None);
        // 1994-11-06T08:49:37Z
        let hint = RetryHint::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(hint, Some(RetryHint::AtWallMs(784_111_777_000.0)));
        assert_eq!(hint.map(|h| h.delay_ms(784_111_770_000.0)), Some(7000.0));
        assert_eq!(hint.map(|h| h.delay_ms(784_111_780_000.0)), Some(0.0));
        assert_eq!(
            RetryHint::from_headers(Some("250"), Some("10")),
            Some(RetryHint::DelayMs(250.0))
        );
        assert_eq!(
            RetryHint::from_headers(Some("x"), Some("10")),
            Some(RetryHint::DelayMs(10_000.0))
        );
    }
}
