//! JSON text, written straight into a byte buffer. `Value`'s `Display`
//! (what `to_string()` uses) writes through `fmt::Formatter` a token at a
//! time; on the built-in tools' path (request bodies, `fetch` arguments,
//! outputs crossing to JS) that was a tenth of the wasm's time.

use serde::Serialize;

/// `value` as JSON text (empty for the rare value serde cannot write, such
/// as a map with non-string keys; none of the crate's are).
pub fn text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The length of `value`'s JSON text, without writing it anywhere.
pub fn text_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_display_and_len_is_its_length() {
        for value in [
            json!(null),
            json!("a\"\u{1}é"),
            json!({"b": [1, 2.5, {"c": true}], "a": "x"}),
            json!([]),
        ] {
            assert_eq!(text(&value), value.to_string());
            assert_eq!(text_len(&value), value.to_string().len());
        }
    }
}
