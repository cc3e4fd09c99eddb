//! Dotted paths into requests (`metadata.quality`, `items.0.kind`), parsed
//! once when the config is read.

use serde_json::Value;

/// A parsed dotted path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    raw: String,
    segments: Vec<String>,
    /// Its index among the planner's distinct paths (set when the planner is
    /// built), so a plan memoises lookups in a vector instead of hashing names.
    slot: Option<usize>,
}

impl Path {
    /// Parses `a.b.0.c`.
    ///
    /// # Errors
    /// When the path or one of its segments is empty.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("path must not be empty".into());
        }
        let segments: Vec<String> = raw.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("path `{raw}` has an empty segment"));
        }
        Ok(Self {
            raw: raw.to_owned(),
            segments,
            slot: None,
        })
    }

    /// Its index among the planner's distinct paths, when a planner gave it one.
    pub fn slot(&self) -> Option<usize> {
        self.slot
    }

    /// Gives it its index among the planner's distinct paths.
    pub fn set_slot(&mut self, slot: usize) {
        self.slot = Some(slot);
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The segments between dots.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Walks a JSON value: object keys by name, array items by index.
    pub fn resolve<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.segments.iter().try_fold(value, |current, segment| match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Path;
    use serde_json::json;

    #[test]
    fn resolves_objects_and_array_indices() {
        let v = json!({"metadata": {"quality": "high"}, "items": [{"kind": "a"}, {"kind": "b"}]});
        assert_eq!(
            Path::parse("metadata.quality").unwrap().resolve(&v),
            Some(&json!("high"))
        );
        assert_eq!(Path::parse("items.1.kind").unwrap().resolve(&v), Some(&json!("b")));
        assert_eq!(Path::parse("items.9.kind").unwrap().resolve(&v), None);
        assert_eq!(Path::parse("metadata.quality.x").unwrap().resolve(&v), None);
        assert!(Path::parse("").is_err() && Path::parse("a..b").is_err());
    }
}
