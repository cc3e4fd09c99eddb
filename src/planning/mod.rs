//! Planning: which tool a request goes to.
//!
//! A plan is chosen like this: an explicit `toolName` wins outright (no
//! fallbacks). Otherwise every rule is tried by priority, highest first,
//! ties in the order written; a rule matches when all its conditions hold
//! (paths are dotted, read through [`Payload`](crate::Payload) so only the
//! named paths are ever looked at). The plan is the matching rules' tools
//! in that order, then the configured default tools, each once; tools
//! whose circuit is open are left out. The first is tried; the rest are
//! its fallbacks.

mod condition;
mod planner;
mod rule;
mod view;

pub use crate::model::path::Path;
pub use condition::{json_eq, Condition, ConditionConfig, Op, MAX_REGEX_BYTES};
pub use planner::{without_open, Plan, PlanEntry, PlannerConfig, RuleBasedPlanner};
pub use rule::{ActionConfig, Rule, RuleConfig};
pub use view::{ByteSet, Lowered, RequestView};
