//! Server-sent events, read incrementally: text goes in as it arrives (in
//! pieces that may split lines anywhere), whole events come out. Follows the
//! WHATWG event-stream rules the providers rely on: `event:` and `data:`
//! fields, multi-line data joined by `\n`, `:` comments ignored, a blank line
//! ends an event, `\n`, `\r\n` and `\r` all end a line.

/// One event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent, as here: `None`).
    pub event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// An incremental parser.
#[derive(Debug, Default)]
pub struct SseParser {
    line: String,
    event: Option<String>,
    data: Option<String>,
    /// A `\r` ended the last piece: a `\n` starting the next one belongs to it.
    after_cr: bool,
}

/// A line longer than this is not an event stream (a hostile or broken body).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

impl SseParser {
    /// A parser with nothing read.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `text`, returning the events it completed.
    ///
    /// # Errors
    /// When a line grows past [`MAX_LINE_BYTES`].
    pub fn feed(&mut self, text: &str) -> Result<Vec<SseEvent>, String> {
        let mut events = Vec::new();
        for c in text.chars() {
            if std::mem::take(&mut self.after_cr) && c == '\n' {
                continue;
            }
            match c {
                '\r' | '\n' => {
                    self.after_cr = c == '\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.end_line(&line) {
                        events.push(event);
                    }
                }
                _ => {
                    self.line.push(c);
                    if self.line.len() > MAX_LINE_BYTES {
                        return Err("an event-stream line is too long".into());
                    }
                }
            }
        }
        Ok(events)
    }

    /// Whether an event was begun but not ended by a blank line.
    pub fn has_partial_event(&self) -> bool {
        self.data.is_some() || !self.line.is_empty()
    }

    fn end_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let data = self.data.take()?;
            return Some(SseEvent {
                event: self.event.take(),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = "event: a\ndata: one\ndata: two\n\n: comment\ndata: {\"x\":1}\r\n\r\ndata:three\r\rdata: x\n";
        for cut in 0..stream.len() {
            if !stream.is_char_boundary(cut) {
                continue;
            }
            let mut p = SseParser::new();
            let mut events = p.feed(&stream[..cut]).unwrap();
            events.extend(p.feed(&stream[cut..]).unwrap());
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        event: Some("a".into()),
                        data: "one\ntwo".into()
                    },
                    SseEvent {
                        event: None,
                        data: "{\"x\":1}".into()
                    },
                    SseEvent {
                        event: None,
                        data: "three".into()
                    },
                ],
                "cut at {cut}"
            );
            assert!(p.has_partial_event());
        }
    }
}
