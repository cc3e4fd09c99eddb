//! What a model costs: US dollars per million input and output tokens.
//!
//! A built-in table covers common OpenAI and Anthropic models (list prices
//! when this table was written; check your provider's page). User entries
//! override built-in ones. A dated snapshot (`gpt-4o-2024-08-06`) is priced
//! as its base model when the snapshot itself is not listed.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::config;
use crate::platform::Usage;

/// The price of one model.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelPrice {
    /// Dollars per million input (prompt) tokens.
    #[serde(alias = "input_per_mtok", deserialize_with = "config::non_negative")]
    pub input_per_m_tok: f64,
    /// Dollars per million output (completion) tokens.
    #[serde(alias = "output_per_mtok", deserialize_with = "config::non_negative")]
    pub output_per_m_tok: f64,
}

impl ModelPrice {
    const fn new(input_per_m_tok: f64, output_per_m_tok: f64) -> Self {
        Self {
            input_per_m_tok,
            output_per_m_tok,
        }
    }

    /// What `usage` costs at this price.
    pub fn cost(&self, usage: &Usage) -> f64 {
        (usage.prompt_tokens as f64 * self.input_per_m_tok + usage.completion_tokens as f64 * self.output_per_m_tok)
            / 1_000_000.0
    }
}

const BUILT_IN: &[(&str, ModelPrice)] = &[
    ("gpt-4o", ModelPrice::new(2.5, 10.0)),
    ("gpt-4o-mini", ModelPrice::new(0.15, 0.6)),
    ("gpt-4.1", ModelPrice::new(2.0, 8.0)),
    ("gpt-4.1-mini", ModelPrice::new(0.4, 1.6)),
    ("gpt-4.1-nano", ModelPrice::new(0.1, 0.4)),
    ("o3-mini", ModelPrice::new(1.1, 4.4)),
    ("o4-mini", ModelPrice::new(1.1, 4.4)),
    ("claude-3-haiku", ModelPrice::new(0.25, 1.25)),
    ("claude-3-5-haiku", ModelPrice::new(0.8, 4.0)),
    ("claude-3-5-sonnet", ModelPrice::new(3.0, 15.0)),
    ("claude-3-7-sonnet", ModelPrice::new(3.0, 15.0)),
    ("claude-sonnet-4", ModelPrice::new(3.0, 15.0)),
    ("claude-opus-4", ModelPrice::new(15.0, 75.0)),
];

/// Built-in prices plus the user's (`pricing: { [model]: { inputPerMTok, outputPerMTok } }`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Pricing {
    user: BTreeMap<String, ModelPrice>,
}

impl Pricing {
    /// The table with `user` entries over the built-in ones.
    pub fn with(user: BTreeMap<String, ModelPrice>) -> Self {
        Self { user }
    }

    fn exact(&self, model: &str) -> Option<ModelPrice> {
        self.user
            .get(model)
            .copied()
            .or_else(|| BUILT_IN.iter().find(|(m, _)| *m == model).map(|(_, p)| *p))
    }

    /// The price of `model`: an exact entry, else the entry its dated
    /// snapshot name extends (`<base>-<digit>...` or `<base>-latest`), the
    /// longest such base winning.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        if let Some(price) = self.exact(model) {
            return Some(price);
        }
        let mut end = model.len();
        while let Some(dash) = model.get(..end).and_then(|head| head.rfind('-')) {
            let (base, rest) = (model.get(..dash)?, model.get(dash + 1..)?);
            let snapshot = rest.starts_with(|c: char| c.is_ascii_digit()) || rest.starts_with("latest");
            if snapshot {
                if let Some(price) = self.exact(base) {
                    return Some(price);
                }
            }
            end = dash;
        }
        None
    }

    /// What `usage` of `model` costs; `None` for a model with no price.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.price(model).map(|p| p.cost(usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_snapshot_and_user_prices() {
        let pricing = Pricing::with(BTreeMap::from([("gpt-4o".to_owned(), ModelPrice::new(1.0, 2.0))]));
        assert_eq!(pricing.price("gpt-4o"), Some(ModelPrice::new(1.0, 2.0)));
        assert_eq!(pricing.price("gpt-4o-2024-08-06"), Some(ModelPrice::new(1.0, 2.0)));
        assert_eq!(pricing.price("gpt-4o-mini"), Some(ModelPrice::new(0.15, 0.6)));
        assert_eq!(
            pricing.price("gpt-4o-mini-2024-07-18"),
            Some(ModelPrice::new(0.15, 0.6))
        );
        assert_eq!(
            pricing.price("claude-3-5-haiku-latest"),
            Some(ModelPrice::new(0.8, 4.0))
        );
        assert_eq!(
            pricing.price("claude-sonnet-4-20250514"),
            Some(ModelPrice::new(3.0, 15.0))
        );
        assert_eq!(pricing.price("gpt-4o-turbo"), None);
        assert_eq!(pricing.price("local-llama"), None);
        let usage = Usage::new(1_000_000, 500_000, None);
        assert_eq!(pricing.cost("gpt-4o", &usage), Some(2.0));
    }
}
