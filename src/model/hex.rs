//! Lowercase hex encoding (ids, hashes).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex. By table, not `write!`: the formatting
/// machinery was a tenth of a keyed replay's time in wasm (store key,
/// fingerprint and trace ids are all hex).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_lowercase_pairs() {
        assert_eq!(super::encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::encode(&[]), "");
    }
}
