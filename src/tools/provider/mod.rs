//! A model provider as a [`Tool`]: configuration, the call over the
//! [`HttpClient`], and everything both wire formats share (headers, trace
//! propagation, usage, cost, failure classification). What differs between
//! formats lives behind [`WireFormat`].

mod config;
mod request;
mod stream;

use std::marker::PhantomData;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde_json::Value;

pub use self::config::{ApiKey, Auth, ProviderConfig};
use super::chat::{ChatDefaults, ChatRequest};
use super::http_failure;
use super::message::AssistantMessage;
use super::pricing::Pricing;
use super::stream_decode::StreamFormat;
use crate::model::error::{OrchestratorError, ToolError};
use crate::model::payload::Payload;
use crate::platform::{
    ChunkStream, Exchange, Exchanging, HttpClient, HttpError, HttpRequest, HttpResponse, TokenFit, Tool, ToolContext,
    ToolEstimate, ToolOutput, Usage,
};

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
    /// The header the key goes in by default; `None` for `Authorization: Bearer`.
    const AUTH_HEADER: Option<&'static str>;
    /// A version header and its default value (`anthropic-version`).
    const VERSION_HEADER: Option<(&'static str, &'static str)>;
    /// Whether the format has `max_completion_tokens`.
    const COMPLETION_TOKENS: bool;
    /// How its streamed answers are encoded.
    const STREAM: StreamFormat;

    /// The JSON body for `chat`.
    fn body(chat: &ChatRequest) -> Value;

    /// The assistant message and usage of a 2xx body; `Err` says what is missing.
    ///
    /// # Errors
    /// What the body lacks.
    fn parse(body: &Value) -> Result<(AssistantMessage, Option<Usage>), String>;
}

/// A provider tool over HTTP in wire format `W`.
pub struct ProviderTool<W> {
    config: ProviderConfig,
    pricing: Pricing,
    provider: String,
    secrets: Rc<[String]>,
    http: Rc<dyn HttpClient>,
    format: PhantomData<W>,
}

impl<W: WireFormat> ProviderTool<W> {
    /// A tool from its configuration, sending through `http`.
    pub fn new(config: ProviderConfig, http: Rc<dyn HttpClient>) -> Self {
        let pricing = Pricing::with(config.pricing.clone());
        let provider = config.provider.clone().unwrap_or_else(|| W::PROVIDER.to_owned());
        let secrets = config.secrets().into();
        Self {
            config,
            pricing,
            provider,
            secrets,
            http,
            format: PhantomData,
        }
    }

    /// Reads the configuration from JSON; errors name `field.<key>`.
    ///
    /// # Errors
    /// `invalid_config` naming the field.
    pub fn from_json(value: &Value, field: &str, http: Rc<dyn HttpClient>) -> Result<Self, OrchestratorError> {
        let config: ProviderConfig = crate::model::config::from_json(value, field)?;
        let allowed = config::Allowed {
            max_completion_tokens: W::COMPLETION_TOKENS,
            anthropic_version: W::VERSION_HEADER.is_some(),
        };
        config.check(field, &allowed)?;
        Ok(Self::new(config, http))
    }

    fn defaults(&self) -> ChatDefaults {
        let config = &self.config;
        ChatDefaults {
            model: config.model.clone(),
            max_tokens: config
                .max_completion_tokens
                .or(config.max_tokens)
                .or(W::DEFAULT_MAX_TOKENS),
            temperature: config.temperature,
            completion_tokens: config.max_completion_tokens.is_some(),
        }
    }

    fn http_request(&self, chat: &ChatRequest, ctx: &ToolContext) -> Result<HttpRequest, ToolError> {
        let base = self.config.base_url.as_deref().unwrap_or(W::DEFAULT_BASE_URL);
        Ok(HttpRequest {
            method: "POST".into(),
            url: request::url(base, W::PATH, &self.config.query),
            headers: request::headers(&self.config, W::AUTH_HEADER, W::VERSION_HEADER, ctx)?,
            body: Some(crate::model::json::text(&W::body(chat))),
        })
    }

    fn chat(&self, request: &Value, options: &Value) -> Result<ChatRequest, ToolError> {
        ChatRequest::build(request, options, &self.defaults())
    }

    /// The chat for one call: built from the request and options, fitted to the budget.
    fn prepared<V: Payload>(&self, request: &V, options: &Value, ctx: &ToolContext) -> Result<ChatRequest, ToolError> {
        request
            .to_json()
            .map_err(|m| ToolError::client(format!("the request cannot be read: {m}")))
            .and_then(|json| self.chat(&json, options))
            .map(|chat| fitted(chat, ctx))
    }

    /// A streamed call, ready to send.
    fn streamed<V: Payload>(
        &self,
        request: &V,
        options: &Value,
        ctx: &ToolContext,
    ) -> Result<stream::Streamed, ToolError> {
        let chat = stream::continue_from(self.prepared(request, options, ctx)?, ctx.partial.as_deref(), W::STREAM);
        let mut http_request = self.http_request(&chat, ctx)?;
        http_request.body = Some(crate::model::json::text(&stream::streaming_body(
            W::body(&chat),
            W::STREAM,
        )));
        Ok(stream::Streamed {
            http: Rc::clone(&self.http),
            request: http_request,
            signal: ctx.signal.clone(),
            format: W::STREAM,
            provider: self.provider.clone(),
            model: chat.model,
            pricing: self.pricing.clone(),
            secrets: Rc::clone(&self.secrets),
        })
    }
}

impl<W: WireFormat, V: Payload> Exchanging<V> for ProviderTool<W> {
    fn exchange(&self, request: &V, options: &Value, ctx: &ToolContext) -> Exchange<V> {
        let prepared = self
            .prepared(request, options, ctx)
            .and_then(|chat| Ok((self.http_request(&chat, ctx)?, chat.model)));
        let (request, model) = match prepared {
            Ok((request, model)) => (Ok(request), model),
            Err(error) => (Err(error), String::new()),
        };
        let reader = Reader {
            provider: self.provider.clone(),
            model,
            pricing: self.pricing.clone(),
            secrets: Rc::clone(&self.secrets),
        };
        Exchange {
            request,
            read: Box::new(move |answer| reader.read::<W, V>(answer)),
        }
    }
}

/// What reading a call's answer needs of its tool.
struct Reader {
    provider: String,
    model: String,
    pricing: Pricing,
    secrets: Rc<[String]>,
}

impl Reader {
    /// The call's output from its HTTP answer, or its failure, classified.
    fn read<W: WireFormat, V: Payload>(
        &self,
        answer: Result<HttpResponse, HttpError>,
    ) -> Result<ToolOutput<V>, ToolError> {
        let provider = &self.provider;
        let response = answer.map_err(|e| http_failure::from_transport(provider, e, &self.secrets))?;
        if !(200..300).contains(&response.status) {
            return Err(http_failure::from_response(provider, &response, &self.secrets));
        }
        let body: Value = serde_json::from_str(&response.body)
            .map_err(|_| http_failure::malformed(provider, "the body is not JSON"))?;
        if http_failure::BodyError::from_body(&body).is_some() {
            return Err(http_failure::from_response(provider, &response, &self.secrets));
        }
        let (output, usage, message) = reply::<W, V>(provider, &body)?;
        let cost_usd = usage.and_then(|u| self.pricing.cost(&self.model, &u));
        Ok(ToolOutput {
            output,
            usage,
            cost_usd,
            message: Some(message),
        })
    }
}

/// A 2xx body as the tool's output, usage and message.
fn reply<W: WireFormat, V: Payload>(provider: &str, body: &Value) -> Result<(V, Option<Usage>, Value), ToolError> {
    let (message, usage) = W::parse(body).map_err(|what| http_failure::malformed(provider, &what))?;
    let output =
        V::from_json(Value::String(message.text.clone())).map_err(|m| http_failure::malformed(provider, &m))?;
    Ok((output, usage, message.to_json()))
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
        let Exchange { request: sent, read } = self.exchange(request, options, &ctx);
        let http = Rc::clone(&self.http);
        Box::pin(async move {
            let request = sent?;
            read(http.send(request, ctx.signal.clone()).await)
        })
    }

    fn exchanging(&self) -> Option<&dyn Exchanging<V>> {
        Some(self)
    }

    fn stream(&self, request: &V, options: &Value, ctx: ToolContext) -> ChunkStream {
        stream::chunks(self.streamed(request, options, &ctx))
    }

    fn estimate(&self, request: &V, options: &Value) -> ToolEstimate {
        let Ok(chat) = request
            .to_json()
            .map_err(ToolError::client)
            .and_then(|json| self.chat(&json, options))
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
