//! The rule-based planner: from a request to an ordered list of tools.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value;

use super::rule::{Rule, RuleConfig};
use crate::model::error::OrchestratorError;
use crate::model::payload::Payload;

/// `planner` in config: `{ rules: [...] }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// The rules, in the order written (an array of objects).
    #[serde(deserialize_with = "crate::model::config::objects")]
    pub rules: Vec<RuleConfig>,
}

/// One tool in a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanEntry {
    /// The tool's registered name.
    pub tool_name: String,
    /// Options it is called with (`null` when none).
    pub options: Rc<Value>,
    /// The rule that chose it (`None` for a default or explicit tool).
    pub rule: Option<String>,
}

/// The tools a run will try, first to last, and those left out because
/// their breakers were open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Tried in order; the first is the primary, the rest its fallbacks.
    pub tools: Vec<PlanEntry>,
    /// Tool names left out (breaker open).
    pub skipped: Vec<String>,
}

/// Rules sorted by priority, highest first, ties in insertion order.
#[derive(Clone, Debug, Default)]
pub struct RuleBasedPlanner {
    rules: Vec<Rule>,
    /// Distinct paths the rules read, by slot (each condition's path has its slot).
    paths: Vec<String>,
    /// The options of a default tool (none), shared by every plan.
    no_options: Rc<Value>,
}

impl RuleBasedPlanner {
    /// Orders `rules` by priority (stable).
    pub fn new(mut rules: Vec<Rule>) -> Self {
        rules.sort_by(|a, b| b.priority.total_cmp(&a.priority));
        let paths = assign_slots(&mut rules);
        Self {
            rules,
            paths,
            no_options: Rc::new(Value::Null),
        }
    }

    /// Compiles the `planner` config; `prefix` is its path (`planner`).
    ///
    /// # Errors
    /// `invalid_config` naming the offending rule field.
    pub fn from_config(config: &PlannerConfig, prefix: &str) -> Result<Self, OrchestratorError> {
        let rules_prefix = format!("{prefix}.rules");
        let rules = config
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| Rule::compile(rule, &rules_prefix, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(rules))
    }

    /// The distinct paths the rules read (`["query"]` for keyword rules on the default attribute).
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The rules in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every matching rule's tool in priority order, then the default
    /// tools; each tool once, where it first appears.
    pub fn candidates<V: Payload>(&self, request: &V, defaults: &[String]) -> Vec<PlanEntry> {
        self.entries(&self.matching(request), defaults)
    }

    /// The indices (in [`Self::rules`] order) of the rules `request` matches:
    /// with the defaults, all that decides a plan.
    pub fn matching<V: Payload>(&self, request: &V) -> Vec<u32> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let view = super::RequestView::new(request, self.paths.len());
        (0u32..)
            .zip(&self.rules)
            .filter(|(_, rule)| rule.matches_in(&view))
            .map(|(i, _)| i)
            .collect()
    }

    /// The plan of the rules at `matched` (from [`Self::matching`]), then the
    /// default tools; each tool once, where it first appears.
    pub fn entries(&self, matched: &[u32], defaults: &[String]) -> Vec<PlanEntry> {
        let mut entries: Vec<PlanEntry> = Vec::with_capacity(defaults.len() + matched.len());
        let from_rules = matched
            .iter()
            .filter_map(|&i| self.rules.get(i as usize))
            .map(|rule| PlanEntry {
                tool_name: rule.tool_name.clone(),
                options: Rc::clone(&rule.tool_options),
                rule: Some(rule.name.clone()),
            });
        let from_defaults = defaults.iter().map(|name| PlanEntry {
            tool_name: name.clone(),
            options: Rc::clone(&self.no_options),
            rule: None,
        });
        for entry in from_rules.chain(from_defaults) {
            if !entries.iter().any(|e| e.tool_name == entry.tool_name) {
                entries.push(entry);
            }
        }
        entries
    }
}

/// Numbers the distinct paths of `rules`' conditions; answers them by slot.
fn assign_slots(rules: &mut [Rule]) -> Vec<String> {
    let mut slots: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut paths = Vec::new();
    for condition in rules.iter_mut().flat_map(|r| r.conditions.iter_mut()) {
        let path = condition.path.as_str();
        let slot = *slots.entry(path.to_owned()).or_insert_with(|| {
            paths.push(path.to_owned());
            paths.len() - 1
        });
        condition.path.set_slot(slot);
    }
    paths
}

/// Leaves out the candidates whose breaker is open.
pub fn without_open(candidates: Vec<PlanEntry>, is_open: impl Fn(&str) -> bool) -> Plan {
    let (skipped, tools): (Vec<PlanEntry>, Vec<PlanEntry>) =
        candidates.into_iter().partition(|entry| is_open(&entry.tool_name));
    Plan {
        tools,
        skipped: skipped.into_iter().map(|e| e.tool_name).collect(),
    }
}
