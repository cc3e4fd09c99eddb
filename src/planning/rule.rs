//! Rules: a name, a priority, conditions that must all hold, and the tool
//! to use when they do. Keyword and type rules are shorthands for common
//! conditions, as in the seed.

use std::rc::Rc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::condition::{Condition, ConditionConfig, Op};
use super::view::Lowered;
use super::Path;
use crate::model::config;
use crate::model::error::OrchestratorError;
use crate::model::payload::Payload;

/// What a matching rule asks for.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionConfig {
    /// The tool to call.
    #[serde(alias = "tool_name")]
    pub tool_name: String,
    /// Options passed to the tool (an object).
    #[serde(default, alias = "tool_options", deserialize_with = "config::opt_json_object")]
    pub tool_options: Option<Value>,
}

/// A rule as written in config. Three shapes are accepted:
/// a custom rule (`conditions` + `action`), a keyword rule (`keywords`,
/// `attribute` default `query`, `toolName`) and a type rule (`requestType`,
/// `toolName`); `toolName`/`toolOptions` may stand beside or inside `action`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RuleConfig {
    /// Name reported in `plan` events.
    pub name: Option<String>,
    /// Higher runs first; ties keep their order (default 0).
    #[serde(deserialize_with = "finite_priority")]
    pub priority: f64,
    /// Conditions that must all hold.
    #[serde(deserialize_with = "config::objects")]
    pub conditions: Vec<ConditionConfig>,
    /// The tool and options to use.
    #[serde(deserialize_with = "config::opt_object")]
    pub action: Option<ActionConfig>,
    /// Keyword rule: any of these, case-insensitively, in `attribute`.
    pub keywords: Option<Vec<String>>,
    /// Keyword rule: the path searched (default `query`).
    pub attribute: Option<String>,
    /// Type rule: the request's `type` must equal this.
    #[serde(alias = "request_type")]
    pub request_type: Option<String>,
    /// Shorthand for `action.toolName`.
    #[serde(alias = "tool_name")]
    pub tool_name: Option<String>,
    /// Shorthand for `action.toolOptions` (an object).
    #[serde(alias = "tool_options", deserialize_with = "config::opt_json_object")]
    pub tool_options: Option<Value>,
}

fn finite_priority<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(D::Error::custom(format!("must be a finite number, got {value}")))
    }
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its name.
    pub name: String,
    /// Its priority.
    pub priority: f64,
    /// Conditions that must all hold.
    pub conditions: Vec<Condition>,
    /// Tool to use.
    pub tool_name: String,
    /// Options for the tool (`null` when none).
    pub tool_options: Rc<Value>,
    /// Config path of the tool name, for errors (`planner.rules[2].action.toolName`).
    pub tool_field: String,
}

impl Rule {
    /// Compiles rule number `index` of the config at `prefix` (`planner.rules`).
    ///
    /// # Errors
    /// `invalid_config` naming the offending field.
    pub fn compile(config: &RuleConfig, prefix: &str, index: usize) -> Result<Self, OrchestratorError> {
        let field = format!("{prefix}[{index}]");
        let (tool_name, tool_options, tool_field) = match (&config.action, &config.tool_name) {
            (Some(action), _) => (
                action.tool_name.clone(),
                action.tool_options.clone(),
                format!("{field}.action.toolName"),
            ),
            (None, Some(name)) => (name.clone(), config.tool_options.clone(), format!("{field}.toolName")),
            (None, None) => {
                return Err(OrchestratorError::config(
                    format!("{field}.action"),
                    "every rule needs an action naming a tool (`action.toolName`)",
                ))
            }
        };
        let mut conditions = config
            .conditions
            .iter()
            .enumerate()
            .map(|(i, c)| Condition::compile(c, &format!("{field}.conditions[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut default_name = format!("rule_{index}");
        if let Some(keywords) = &config.keywords {
            if keywords.is_empty() || keywords.iter().any(String::is_empty) {
                return Err(OrchestratorError::config(
                    format!("{field}.keywords"),
                    "must list non-empty keywords",
                ));
            }
            let attribute = config.attribute.as_deref().unwrap_or("query");
            let path =
                Path::parse(attribute).map_err(|m| OrchestratorError::config(format!("{field}.attribute"), m))?;
            let words = keywords.iter().map(|k| Lowered::new(k)).collect();
            conditions.push(Condition {
                path,
                op: Op::ContainsAnyIgnoreCase(words),
            });
            default_name = format!("keyword:{tool_name}");
        }
        if let Some(request_type) = &config.request_type {
            let path = Path::parse("type").map_err(|m| OrchestratorError::config(field.clone(), m))?;
            conditions.push(Condition {
                path,
                op: Op::Equals(Value::String(request_type.clone())),
            });
            default_name = format!("type:{request_type}");
        }
        Ok(Self {
            name: config.name.clone().unwrap_or(default_name),
            priority: config.priority,
            conditions,
            tool_name,
            tool_options: Rc::new(tool_options.unwrap_or(Value::Null)),
            tool_field,
        })
    }

    /// Whether every condition holds, reading through a shared view of the request.
    pub fn matches_in<V: Payload>(&self, view: &super::RequestView<'_, V>) -> bool {
        self.conditions.iter().all(|c| c.holds_in(view))
    }
}
