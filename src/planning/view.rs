//! One request as the planner sees it during one plan: each path is looked
//! up once however many rules name it, and each string lowercased once
//! however many keyword rules search it. With 1,000 rules on `query`, that is
//! one lookup (one boundary crossing in wasm) instead of a thousand. Paths
//! carry their index among the planner's distinct paths, so the memo is a
//! vector: no name is hashed per rule.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;

use super::Path;
use crate::model::payload::Payload;

/// A found value, shared between the rules that read it.
type Found = Option<Rc<Value>>;

/// The bytes a string holds, as a set: a keyword with a byte the text lacks
/// cannot occur in it, which rules most keywords out without a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    /// The bytes of `text`.
    pub fn of(text: &str) -> Self {
        let mut set = [0u64; 4];
        for &b in text.as_bytes() {
            if let Some(word) = set.get_mut(usize::from(b >> 6)) {
                *word |= 1 << (b & 63);
            }
        }
        Self(set)
    }

    /// Whether every byte of `other` is in this set.
    pub fn covers(&self, other: &Self) -> bool {
        self.0.iter().zip(other.0).all(|(have, need)| need & !have == 0)
    }
}

/// A string lowercased, with its bytes: a text, once for every keyword rule
/// that searches it, and each keyword, once when its rule is compiled.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The lowercased text.
    pub text: String,
    /// Its bytes.
    pub bytes: ByteSet,
}

impl Lowered {
    /// `text`, lowercased.
    pub fn new(text: &str) -> Self {
        let text = text.to_lowercase();
        let bytes = ByteSet::of(&text);
        Self { text, bytes }
    }
}

/// Memoised lookups into one request.
pub struct RequestView<'a, V> {
    request: &'a V,
    /// By path slot: `None` not looked up yet.
    found: RefCell<Vec<Option<Found>>>,
    lowered: RefCell<Vec<Option<Rc<Lowered>>>>,
}

impl<'a, V: Payload> RequestView<'a, V> {
    /// A view of `request` for paths with slots below `paths`, nothing looked up yet.
    pub fn new(request: &'a V, paths: usize) -> Self {
        Self {
            request,
            found: RefCell::new(vec![None; paths]),
            lowered: RefCell::new(vec![None; paths]),
        }
    }

    fn fetch(&self, path: &Path) -> Found {
        self.request
            .lookup(path)
            .map(|v: Cow<'_, Value>| Rc::new(v.into_owned()))
    }

    /// The value at `path`, looked up once (a path without a slot: every time).
    pub fn lookup(&self, path: &Path) -> Found {
        let Some(slot) = path.slot().filter(|&s| s < self.found.borrow().len()) else {
            return self.fetch(path);
        };
        if let Some(Some(found)) = self.found.borrow().get(slot) {
            return found.clone();
        }
        let found = self.fetch(path);
        if let Some(memo) = self.found.borrow_mut().get_mut(slot) {
            *memo = Some(found.clone());
        }
        found
    }

    /// The string at `path`, lowercased once.
    pub fn lowercase(&self, path: &Path) -> Option<Rc<Lowered>> {
        let slot = path.slot();
        if let Some(Some(lower)) = slot.and_then(|s| self.lowered.borrow().get(s).cloned()) {
            return Some(lower);
        }
        let found = self.lookup(path)?;
        let lower = Rc::new(Lowered::new(found.as_str()?));
        if let Some(s) = slot {
            if let Some(memo) = self.lowered.borrow_mut().get_mut(s) {
                *memo = Some(Rc::clone(&lower));
            }
        }
        Some(lower)
    }
}
