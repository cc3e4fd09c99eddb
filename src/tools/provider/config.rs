//! `openaiChat({...})` / `anthropicMessages({...})` configuration: the
//! options, their checks, and what in them is a secret.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::super::pricing::ModelPrice;
use crate::model::config;
use crate::model::error::OrchestratorError;

/// An API key: never printed, never serialised.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key, for the one header that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// How the key is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// The format's own way (`Authorization: Bearer` for OpenAI, `x-api-key` for Anthropic).
    #[default]
    Default,
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `<header>: <key>` (Azure's `api-key`, say).
    Header(String),
    /// No key at all (a local server).
    None,
}

impl<'de> Deserialize<'de> for Auth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expected = r#"must be "bearer", "none" or { header: "<name>" }"#;
        let value = Value::deserialize(d)?;
        match &value {
            Value::Null => Ok(Self::Default),
            Value::String(s) if s == "bearer" => Ok(Self::Bearer),
            Value::String(s) if s == "none" => Ok(Self::None),
            Value::Object(o) if o.len() == 1 => match o.get("header") {
                Some(Value::String(name)) if header_problem(name, "").is_none() => {
                    Ok(Self::Header(name.to_ascii_lowercase()))
                }
                _ => Err(serde::de::Error::custom(expected)),
            },
            _ => Err(serde::de::Error::custom(expected)),
        }
    }
}

fn non_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = String::deserialize(d)?;
    if value.is_empty() {
        return Err(serde::de::Error::custom("must be a non-empty string"));
    }
    Ok(value)
}

fn base_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    match value {
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            Err(serde::de::Error::custom("must be an absolute http:// or https:// URL"))
        }
        Some(url) if url.contains(['?', '#']) => Err(serde::de::Error::custom(
            "must not carry a query or fragment (use `query` for parameters)",
        )),
        other => Ok(other.map(|u| u.trim_end_matches('/').to_owned())),
    }
}

fn opt_max_tokens<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        None => Ok(None),
        Some(n) if n.fract() == 0.0 && (1.0..=10_000_000.0).contains(&n) => Ok(Some(n as u64)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "must be an integer from 1 to 10000000, got {n}"
        ))),
    }
}

/// Query parameters: strings, numbers or booleans, sent as text.
fn query<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, Value>>::deserialize(d)?.unwrap_or_default();
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            _ => Err(serde::de::Error::custom(format!(
                "`{k}` must be a string, number or boolean"
            ))),
        })
        .collect()
}

/// `openaiChat({...})` / `anthropicMessages({...})` configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// The key, sent as `auth` says; local servers may need none.
    #[serde(default, alias = "api_key")]
    pub api_key: Option<ApiKey>,
    /// How the key is sent (default: the format's own way).
    #[serde(default)]
    pub auth: Auth,
    /// The model called unless `toolOptions.model` says otherwise.
    #[serde(deserialize_with = "non_empty")]
    pub model: String,
    /// Where the API lives (default: the provider's public API).
    #[serde(default, alias = "base_url", deserialize_with = "base_url")]
    pub base_url: Option<String>,
    /// Query parameters on every call (Azure's `api-version`, say).
    #[serde(default, deserialize_with = "query")]
    pub query: BTreeMap<String, String>,
    /// Output token limit.
    #[serde(default, alias = "max_tokens", deserialize_with = "opt_max_tokens")]
    pub max_tokens: Option<u64>,
    /// Output token limit sent as `max_completion_tokens` (OpenAI only).
    #[serde(default, alias = "max_completion_tokens", deserialize_with = "opt_max_tokens")]
    pub max_completion_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, deserialize_with = "config::opt_non_negative")]
    pub temperature: Option<f64>,
    /// Extra headers on every call (a gateway's own auth, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Prices over the built-in table.
    #[serde(default)]
    pub pricing: BTreeMap<String, ModelPrice>,
    /// The breaker this tool reports to (default: `openai` / `anthropic`).
    #[serde(default)]
    pub provider: Option<String>,
    /// The `anthropic-version` header (Anthropic only).
    #[serde(default, alias = "anthropic_version")]
    pub anthropic_version: Option<String>,
}

/// What makes `name: value` a header `fetch` refuses (or one that could
/// inject another): a name that is not an HTTP token, a value with NUL, CR
/// or LF or a character above U+00FF.
pub(super) fn header_problem(name: &str, value: &str) -> Option<&'static str> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Some("has an invalid name");
    }
    if value.chars().any(|c| matches!(c, '\0' | '\r' | '\n') || c > '\u{ff}') {
        return Some("has an invalid value (control or non-Latin-1 characters)");
    }
    None
}

/// A header name fit for a message: cut short and printable.
pub(super) fn redact_name(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// Whether a header of this name carries a credential.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "cookie", "signature", "password"]
        .iter()
        .any(|w| name.contains(w))
}

/// What the format-specific options allow.
pub(super) struct Allowed {
    pub max_completion_tokens: bool,
    pub anthropic_version: bool,
}

impl ProviderConfig {
    /// Every secret this configuration holds: the key, and the values of
    /// credential headers (with and without their `Bearer ` scheme), for
    /// redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.api_key.iter().map(|k| k.expose().to_owned()).collect();
        for value in self.headers.iter().filter(|(n, _)| is_secret_header(n)).map(|(_, v)| v) {
            out.push(value.clone());
            if let Some((_, token)) = value.split_once(' ') {
                out.push(token.trim().to_owned());
            }
        }
        out.retain(|s| s.len() >= 4);
        out
    }

    /// Checks what serde cannot; errors name `field.<key>`.
    ///
    /// # Errors
    /// `invalid_config` naming the field.
    pub(super) fn check(&self, field: &str, allowed: &Allowed) -> Result<(), OrchestratorError> {
        let bad = |key: &str, message: &str| Err(OrchestratorError::config(format!("{field}.{key}"), message));
        if let Some((name, problem)) = self
            .headers
            .iter()
            .find_map(|(k, v)| header_problem(k, v).map(|p| (k, p)))
        {
            return bad(&format!("headers.{}", redact_name(name)), problem);
        }
        if self.provider.as_ref().is_some_and(|p| p.is_empty() || p.len() > 128) {
            return bad("provider", "must be a non-empty string");
        }
        if self.max_completion_tokens.is_some() && !allowed.max_completion_tokens {
            return bad("maxCompletionTokens", "is an OpenAI option; use `maxTokens`");
        }
        match &self.anthropic_version {
            Some(_) if !allowed.anthropic_version => bad("anthropicVersion", "is an Anthropic option"),
            Some(v) if v.is_empty() || header_problem("anthropic-version", v).is_some() => {
                bad("anthropicVersion", "must be a non-empty header value")
            }
            _ => Ok(()),
        }
    }
}
