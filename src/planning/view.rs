//! One request as the planner sees it during one plan: each path is looked
//! up once however many rules name it, and each string lowercased once
//! however many keyword rules search it. With 1,000 rules on `query`, that is
//! one lookup (one boundary crossing in wasm) instead of a thousand.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use super::Path;
use crate::payload::Payload;

/// A found value, shared between the rules that read it.
type Found = Option<Rc<Value>>;

/// Memoised lookups into one request.
pub struct RequestView<'a, V> {
    request: &'a V,
    found: RefCell<HashMap<String, Found>>,
    lowered: RefCell<HashMap<String, Rc<str>>>,
}

impl<'a, V: Payload> RequestView<'a, V> {
    /// A view of `request` with nothing looked up yet.
    pub fn new(request: &'a V) -> Self {
        Self {
            request,
            found: RefCell::new(HashMap::new()),
            lowered: RefCell::new(HashMap::new()),
        }
    }

    /// The value at `path`, looked up once.
    pub fn lookup(&self, path: &Path) -> Found {
        if let Some(found) = self.found.borrow().get(path.as_str()) {
            return found.clone();
        }
        let found = self
            .request
            .lookup(path)
            .map(|v: Cow<'_, Value>| Rc::new(v.into_owned()));
        self.found.borrow_mut().insert(path.as_str().to_owned(), found.clone());
        found
    }

    /// The string at `path`, lowercased once.
    pub fn lowercase(&self, path: &Path) -> Option<Rc<str>> {
        if let Some(lower) = self.lowered.borrow().get(path.as_str()) {
            return Some(Rc::clone(lower));
        }
        let found = self.lookup(path)?;
        let lower: Rc<str> = Rc::from(found.as_str()?.to_lowercase());
        self.lowered
            .borrow_mut()
            .insert(path.as_str().to_owned(), Rc::clone(&lower));
        Some(lower)
    }
}
