//! Randomness and the few things built on it.

/// A source of random bytes.
///
/// Used for request ids (UUID v4), span ids and retry jitter; none of them
/// need to be secret, but they should not repeat.
pub trait Random {
    /// Fills `buf` with random bytes. Must not fail: a host whose secure
    /// source is unavailable falls back to a weaker one.
    fn fill(&self, buf: &mut [u8]);
}

impl dyn Random + '_ {
    /// A random version-4 UUID in its hyphenated lowercase form.
    pub fn uuid_v4(&self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// A uniformly distributed float in `[0, 1)`.
    pub fn unit_f64(&self) -> f64 {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        // 53 random bits make every representable value in [0, 1) reachable
        // with equal spacing.
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` random bytes as lowercase hex.
    pub fn hex(&self, n: usize) -> String {
        let mut bytes = vec![0u8; n];
        self.fill(&mut bytes);
        crate::model::hex::encode(&bytes)
    }
}
