//! Counting a bundle's answers and deciding when the count is settled.
//!
//! Answers are grouped by a comparison key. The leader is the largest group
//! (on a tie, the one whose first answer came first). After every finished
//! replicate the tally is *settled*, and no further replicate is needed, when
//!
//! 1. the leader can no longer be caught: `leader > runner_up + unfinished`,
//!    where `unfinished` counts replicates not yet finished (in flight or not
//!    started); or
//! 2. at least two answers are in and the leader's share of them is at least
//!    `1 - epsilon`.
//!
//! A bundle starts another replicate only while the tally would stay
//! unsettled even if every replicate in flight agreed with the leader, so
//! agreeing replicates are not started in parallel only to be aborted.
//!
//! `confidence` is Laplace's rule of succession, `(leader + 1) / (answers + 2)`:
//! the chance that one more replicate would agree, given what was seen. It
//! grows with both agreement and the number of answers.

use serde_json::Value;

use crate::reliability::idempotency::canonical_json;

/// How answers are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    /// Strings trimmed, lowercased, inner whitespace collapsed and trailing
    /// `.`, `!`, `?` dropped; other values by canonical JSON.
    #[default]
    Normalized,
    /// Strings as they are; other values by canonical JSON.
    Exact,
}

impl Compare {
    /// The key two answers share exactly when they agree.
    pub fn key(self, answer: &Value) -> String {
        match (self, answer) {
            (Self::Exact, Value::String(s)) => s.clone(),
            (Self::Normalized, Value::String(s)) => {
                let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
                collapsed.trim_end_matches(['.', '!', '?']).trim_end().to_owned()
            }
            (_, other) => {
                let mut out = String::from("\u{0}json:");
                canonical_json(other, &mut out);
                out
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Group {
    key: String,
    count: u32,
    /// Index (in call order) of the group's first answer.
    first: usize,
}

/// The answers seen so far out of `k` planned replicates.
#[derive(Clone, Debug)]
pub struct Tally {
    k: u32,
    groups: Vec<Group>,
    answers: u32,
    failures: u32,
}

impl Tally {
    /// An empty tally for `k` replicates.
    pub fn new(k: u32) -> Self {
        Self {
            k,
            groups: Vec::new(),
            answers: 0,
            failures: 0,
        }
    }

    /// Records replicate `index`'s answer under `key`.
    pub fn answer(&mut self, index: usize, key: String) {
        self.answers += 1;
        match self.groups.iter_mut().find(|g| g.key == key) {
            Some(group) => group.count += 1,
            None => self.groups.push(Group {
                key,
                count: 1,
                first: index,
            }),
        }
    }

    /// Records a failed replicate.
    pub fn failure(&mut self) {
        self.failures += 1;
    }

    /// Successful replicates so far.
    pub fn answers(&self) -> u32 {
        self.answers
    }

    fn ranked(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.cmp(&b.first)));
        groups
    }

    /// The leading group: its key, its size and the index of its first answer.
    pub fn leader(&self) -> Option<(&str, u32, usize)> {
        self.ranked().first().map(|g| (g.key.as_str(), g.count, g.first))
    }

    /// The leader's share of the answers (0 when there are none).
    pub fn agreement(&self) -> f64 {
        match self.leader() {
            Some((_, count, _)) if self.answers > 0 => f64::from(count) / f64::from(self.answers),
            _ => 0.0,
        }
    }

    /// `(leader + 1) / (answers + 2)`.
    pub fn confidence(&self) -> f64 {
        let leader = self.leader().map_or(0, |(_, count, _)| count);
        f64::from(leader + 1) / f64::from(self.answers + 2)
    }

    /// Whether the tally would be settled if the `pending` replicates in
    /// flight all agreed with the leader. A bundle starts another replicate
    /// only when this is false, so agreeing replicates are not paid for in
    /// parallel just to be aborted.
    pub fn settled_if_pending_agree(&self, pending: u32, epsilon: f64) -> bool {
        if pending == 0 {
            return self.settled(epsilon);
        }
        let mut hypothetical = self.clone();
        let leader = self.leader().map(|(key, _, first)| (key.to_owned(), first));
        let (key, first) = leader.unwrap_or_else(|| (String::from("\u{0}pending"), 0));
        for _ in 0..pending {
            hypothetical.answer(first, key.clone());
        }
        hypothetical.settled(epsilon)
    }

    /// Whether no further replicate is needed (see the module docs).
    pub fn settled(&self, epsilon: f64) -> bool {
        let ranked = self.ranked();
        let Some(leader) = ranked.first().map(|g| g.count) else {
            return false;
        };
        let runner_up = ranked.get(1).map_or(0, |g| g.count);
        let unfinished = self.k.saturating_sub(self.answers + self.failures);
        let uncatchable = leader > runner_up + unfinished;
        let dominant = self.answers >= 2 && f64::from(leader) / f64::from(self.answers) >= 1.0 - epsilon;
        uncatchable || dominant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tally(k: u32, keys: &[&str]) -> Tally {
        let mut t = Tally::new(k);
        for (i, key) in keys.iter().enumerate() {
            if key.is_empty() {
                t.failure();
            } else {
                t.answer(i, (*key).to_owned());
            }
        }
        t
    }

    #[test]
    fn settles_on_share_or_when_uncatchable() {
        assert!(!tally(5, &["a"]).settled(0.1), "one answer settles nothing");
        assert!(tally(5, &["a", "a"]).settled(0.1), "two of two agree: share 1 >= 0.9");
        assert!(tally(5, &["a", "a"]).settled(0.0), "share 1 >= 1 - 0");
        assert!(!tally(5, &["a", "b"]).settled(0.1));
        assert!(!tally(5, &["a", "b", "a"]).settled(0.1), "2 vs 1 with 2 left");
        assert!(tally(5, &["a", "b", "a", "a"]).settled(0.1), "3 vs 1 with 1 left");
        assert!(
            tally(5, &["a", "b", "a", "a"]).settled(0.0),
            "uncatchable needs no share"
        );
        assert!(tally(5, &["a", "b", "c", "a", "a"]).settled(0.5), "share 3/5 >= 0.5");
        assert!(tally(3, &["a", "", "a"]).settled(0.0));
        assert!(!tally(4, &["a", "b", "", ""]).settled(0.1), "a tie is not settled");
        assert!(tally(1, &["a"]).settled(0.0));
    }

    #[test]
    fn pending_replicates_that_would_settle_hold_back_more() {
        assert!(!tally(5, &[]).settled_if_pending_agree(1, 0.1));
        assert!(tally(5, &[]).settled_if_pending_agree(2, 0.1));
        assert!(tally(5, &["a"]).settled_if_pending_agree(1, 0.1));
        assert!(!tally(5, &["a", "b"]).settled_if_pending_agree(1, 0.1));
        assert!(
            tally(5, &["a", "b"]).settled_if_pending_agree(2, 0.1),
            "3 vs 1 with 1 left"
        );
        assert!(!tally(5, &["a", "b"]).settled_if_pending_agree(0, 0.1));
    }

    #[test]
    fn leader_agreement_confidence() {
        let t = tally(5, &["b", "a", "a", "b", "c"]);
        assert_eq!(t.leader(), Some(("b", 2, 0)), "ties go to the first seen");
        assert!((t.agreement() - 0.4).abs() < 1e-12);
        assert!((t.confidence() - 3.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn normalized_comparison() {
        let n = Compare::Normalized;
        assert_eq!(n.key(&json!("  Paris. ")), n.key(&json!("paris")));
        assert_eq!(n.key(&json!("New   York!")), n.key(&json!("new york")));
        assert_ne!(Compare::Exact.key(&json!("Paris")), Compare::Exact.key(&json!("paris")));
        assert_eq!(n.key(&json!({ "a": 1, "b": 2 })), n.key(&json!({ "b": 2, "a": 1 })));
        assert_ne!(n.key(&json!("1")), n.key(&json!(1)));
    }
}
