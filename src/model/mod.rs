//! The words every layer shares, and nothing else: usage and estimates,
//! budgets and what a run has spent, errors, events, the reasons things end,
//! payloads and the paths rules read, config reading. Imports nothing of
//! the crate outside this folder; every other layer builds on it.

pub mod budget;
pub mod config;
pub mod error;
pub mod event;
pub(crate) mod hex;
pub mod json;
pub mod path;
pub mod payload;
pub mod reasons;
pub mod retry_after;
pub mod usage;
