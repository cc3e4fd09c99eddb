//! A model provider as a [`Tool`]: configuration, the call over the
//! [`HttpClient`], and everything both wire formats share (headers, trace
//! propagation, usage, cost, failure classification). What differs between
//! formats lives behind [`WireFormat`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde::Deserialize;
use serde_json::Value;

use super::chat::{ChatDefaults, ChatRequest};
use super::http_failure;
use super::pricing::{ModelPrice, Pricing};
use crate::config;
use crate::error::{OrchestratorError, ToolError};
use crate::payload::Payload;
use crate::platform::{HttpClient, HttpRequest, TokenFit, Tool, ToolContext, ToolEstimate, ToolOutput, Usage};

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

/// What makes `name: value` a header `fetch` refuses (or one that could
/// inject another): a name that is not an HTTP token, a value with NUL, CR
/// or LF or a character above U+00FF.
fn header_problem(name: &str, value: &str) -> Option<&'static str> {
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
fn redact_name(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// What fitting `chat` to a token budget starts from (the same numbers the
/// orchestrator's pre-check sees through [`ToolEstimate::fit`]).
fn token_fit(chat: &ChatRequest) -> TokenFit {
    TokenFit {
        prompt_tokens: chat.prompt_tokens_estimate(),
        max_tokens: chat.max_tokens,
    }
}

/// `chat` with its output limit lowered to what the run's token budget leaves.
fn fitted(mut chat: ChatRequest, ctx: &ToolContext) -> ChatRequest {
    if let Some(max) = ctx.spend.fitted_max_tokens(&token_fit(&chat)) {
        chat.max_tokens = Some(max);
    }
    chat
}

/// `openaiChat({...})` / `anthropicMessages({...})` configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// Sent as `Authorization: Bearer` (OpenAI) or `x-api-key` (Anthropic);
    /// local servers may need none.
    #[serde(default, alias = "api_key")]
    pub api_key: Option<ApiKey>,
    /// The model called unless `toolOptions.model` says otherwise.
    #[serde(deserialize_with = "non_empty")]
    pub model: String,
    /// Where the API lives (default: the provider's public API).
    #[serde(default, alias = "base_url", deserialize_with = "base_url")]
    pub base_url: Option<String>,
    /// Output token limit.
    #[serde(default, alias = "max_tokens", deserialize_with = "opt_max_tokens")]
    pub max_tokens: Option<u64>,
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
}

/// What one wire format says differently.
pub trait WireFormat: 'static {
    /// The default breaker name.
    const PROVIDER: &'static str;
    /// The public API's base URL.
    const DEFAULT_BASE_URL: &'static str;
    /// The endpoint below the base URL.
    const PATH: &'static str;
    /// The output limit when none is configured (Anthropic requires one).
    const DEFAULT_MAX_TOKENS: Option<u64>;

    /// Authentication and version headers.
    fn auth_headers(api_key: Option<&str>) -> Vec<(String, String)>;

    /// The JSON body for `chat`.
    fn body(chat: &ChatRequest) -> Value;

    /// The reply text and usage of a 2xx body; `Err` says what is missing.
    ///
    /// # Errors
    /// What the body lacks.
    fn parse(body: &Value) -> Result<(String, Option<Usage>), String>;
}

/// A provider tool over HTTP in wire format `W`.
pub struct ProviderTool<W> {
    config: ProviderConfig,
    pricing: Pricing,
    provider: String,
    http: Rc<dyn HttpClient>,
    format: PhantomData<W>,
}

impl<W: WireFormat> ProviderTool<W> {
    /// A tool from its configuration, sending through `http`.
    pub fn new(config: ProviderConfig, http: Rc<dyn HttpClient>) -> Self {
        let pricing = Pricing::with(config.pricing.clone());
        let provider = config.provider.clone().unwrap_or_else(|| W::PROVIDER.to_owned());
        Self {
            config,
            pricing,
            provider,
            http,
            format: PhantomData,
        }
    }

    /// Reads the configuration from JSON; errors name `field.<key>`.
    ///
    /// # Errors
    /// `invalid_config` naming the field.
    pub fn from_json(value: &Value, field: &str, http: Rc<dyn HttpClient>) -> Result<Self, OrchestratorError> {
        let config: ProviderConfig = config::from_json(value, field)?;
        if let Some((name, problem)) = config
            .headers
            .iter()
            .find_map(|(k, v)| header_problem(k, v).map(|p| (k, p)))
        {
            return Err(OrchestratorError::config(
                format!("{field}.headers.{}", redact_name(name)),
                problem,
            ));
        }
        if config.provider.as_ref().is_some_and(|p| p.is_empty() || p.len() > 128) {
            return Err(OrchestratorError::config(
                format!("{field}.provider"),
                "must be a non-empty string",
            ));
        }
        Ok(Self::new(config, http))
    }

    fn defaults(&self) -> ChatDefaults {
        ChatDefaults {
            model: self.config.model.clone(),
            max_tokens: self.config.max_tokens.or(W::DEFAULT_MAX_TOKENS),
            temperature: self.config.temperature,
        }
    }

    fn secret(&self) -> Option<&str> {
        self.config.api_key.as_ref().map(ApiKey::expose)
    }

    /// The request to send; a header the caller's input made invalid is a
    /// non-retryable client error here, before `fetch` would reject it as a
    /// (retryable, breaker-counting) network failure.
    fn http_request(&self, chat: &ChatRequest, ctx: &ToolContext) -> Result<HttpRequest, ToolError> {
        let base = self.config.base_url.as_deref().unwrap_or(W::DEFAULT_BASE_URL);
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(W::auth_headers(self.secret()));
        headers.extend(
            self.config
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
        );
        headers.push(("traceparent".into(), ctx.traceparent.clone()));
        headers.push(("x-request-id".into(), ctx.request_id.clone()));
        if let Some((name, problem)) = headers.iter().find_map(|(k, v)| header_problem(k, v).map(|p| (k, p))) {
            return Err(ToolError::client(format!("header `{}` {problem}", redact_name(name))));
        }
        Ok(HttpRequest {
            method: "POST".into(),
            url: format!("{base}{}", W::PATH),
            headers,
            body: Some(W::body(chat).to_string()),
        })
    }
}

impl<W: WireFormat, V: Payload> Tool<V> for ProviderTool<W> {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn execute(
        &self,
        request: &V,
        options: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<V>, ToolError>> {
        let chat = request
            .to_json()
            .map_err(|m| ToolError::client(format!("the request cannot be read: {m}")))
            .and_then(|json| ChatRequest::build(&json, options, &self.defaults()))
            .map(|chat| fitted(chat, &ctx));
        let prepared = chat.and_then(|chat| Ok((self.http_request(&chat, &ctx)?, chat.model)));
        let http = Rc::clone(&self.http);
        let pricing = self.pricing.clone();
        let provider = self.provider.clone();
        let secret = self.secret().map(str::to_owned);
        Box::pin(async move {
            let (http_request, model) = prepared?;
            let response = http
                .send(http_request, ctx.signal.clone())
                .await
                .map_err(|e| http_failure::from_transport(&provider, e, secret.as_deref()))?;
            let secret = secret.as_deref();
            if !(200..300).contains(&response.status) {
                return Err(http_failure::from_response(&provider, &response, secret));
            }
            let body: Value = serde_json::from_str(&response.body)
                .map_err(|_| http_failure::malformed(&provider, "the body is not JSON"))?;
            if http_failure::BodyError::from_body(&body).is_some() {
                return Err(http_failure::from_response(&provider, &response, secret));
            }
            let (text, usage) = W::parse(&body).map_err(|what| http_failure::malformed(&provider, &what))?;
            let cost_usd = usage.and_then(|u| pricing.cost(&model, &u));
            let output = V::from_json(Value::String(text)).map_err(|m| http_failure::malformed(&provider, &m))?;
            Ok(ToolOutput {
                output,
                usage,
                cost_usd,
            })
        })
    }

    fn estimate(&self, request: &V, options: &Value) -> ToolEstimate {
        let Ok(chat) = request
            .to_json()
            .map_err(ToolError::client)
            .and_then(|json| ChatRequest::build(&json, options, &self.defaults()))
        else {
            // The call will fail as a client error before anything is spent.
            return ToolEstimate::default();
        };
        let prompt = chat.prompt_tokens_estimate();
        let completion = chat.max_tokens.unwrap_or(0);
        let price = self.pricing.price(&chat.model);
        ToolEstimate {
            tokens: Some(prompt.saturating_add(completion)),
            cost_usd: price.map(|p| p.cost(&Usage::new(prompt, completion, None))),
            unpriced_model: price.is_none().then_some(chat.model.clone()),
            fit: Some(token_fit(&chat)),
        }
    }
}
