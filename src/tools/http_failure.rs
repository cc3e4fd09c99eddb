//! Turning what came back from a provider into a [`ToolError`]: the HTTP
//! status first, refined by the error type in the body, plus the server's
//! retry hint. Messages are redacted so a provider echoing the API key
//! (OpenAI's 401 does, partly masked) never carries it into errors, events
//! or logs.

use serde_json::Value;

use crate::error::{ToolError, ToolErrorCategory};
use crate::platform::{HttpError, HttpResponse};
use crate::reliability::RetryHint;

/// Longest provider message kept in an error.
const MAX_MESSAGE: usize = 300;

/// The error a provider put in its body: `{ error: { type | code, message } }`
/// (OpenAI) or `{ type: "error", error: { type, message } }` (Anthropic).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyError {
    /// `rate_limit_error`, `insufficient_quota`, `overloaded_error`, ...
    pub kind: Option<String>,
    /// The provider's description.
    pub message: Option<String>,
}

impl BodyError {
    /// Reads the error object of a JSON body, if there is one.
    pub fn from_body(body: &Value) -> Option<Self> {
        let error = body.get("error")?;
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(match error {
            Value::String(message) => Self {
                kind: None,
                message: Some(message.clone()),
            },
            _ => Self {
                // OpenAI's `code` is the more specific (`insufficient_quota` under type `insufficient_quota`,
                // `rate_limit_exceeded` under `requests`).
                kind: text("code").or_else(|| text("type")),
                message: text("message"),
            },
        })
    }

    /// The category this kind names, with whether it is worth retrying.
    fn classify(&self) -> Option<(ToolErrorCategory, bool)> {
        let kind = self.kind.as_deref()?;
        Some(match kind {
            // Out of credit: waiting will not help, and it is not the provider failing.
            "insufficient_quota" | "billing_hard_limit_reached" => (ToolErrorCategory::RateLimit, false),
            k if k.contains("rate_limit") => (ToolErrorCategory::RateLimit, true),
            k if k.contains("overloaded") || k == "api_error" || k == "server_error" => {
                (ToolErrorCategory::Server, true)
            }
            k if k.contains("timeout") => (ToolErrorCategory::Timeout, true),
            "invalid_request_error"
            | "authentication_error"
            | "permission_error"
            | "not_found_error"
            | "request_too_large"
            | "invalid_api_key"
            | "model_not_found"
            | "context_length_exceeded" => (ToolErrorCategory::Client, false),
            _ => return None,
        })
    }
}

/// Replaces every trace of `secret` in `text`: the secret itself, and any
/// word containing its first six characters (a masked echo such as
/// `sk-pro****abcd`). Also caps the length.
pub fn redact(text: &str, secret: Option<&str>) -> String {
    let mut out = match secret.filter(|s| s.len() >= 4) {
        None => text.to_owned(),
        Some(secret) => {
            let replaced = text.replace(secret, "[redacted]");
            let prefix: String = secret.chars().take(6).collect();
            let masked_echo = |word: &str| secret.len() >= 12 && word.contains(&prefix);
            replaced
                .split(' ')
                .map(|word| if masked_echo(word) { "[redacted]" } else { word })
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    if out.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push('…');
    }
    out
}

/// The error for a response whose status is not 2xx, or a 2xx whose body
/// is an error object.
pub fn from_response(provider: &str, response: &HttpResponse, secret: Option<&str>) -> ToolError {
    let body: Option<Value> = serde_json::from_str(&response.body).ok();
    let body_error = body.as_ref().and_then(BodyError::from_body);
    let detail = body_error
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| response.body.chars().take(120).collect());
    let kind = body_error.as_ref().and_then(|e| e.kind.clone());
    let message = match &kind {
        Some(kind) => format!("{provider} answered {} ({kind}): {detail}", response.status),
        None => format!("{provider} answered {}: {detail}", response.status),
    };
    let message = redact(&message, secret);
    let ok_status = (200..300).contains(&response.status);
    let mut error = if ok_status {
        ToolError::new(ToolErrorCategory::Unknown, message)
    } else {
        ToolError::from_status(response.status, message)
    };
    if let Some((category, retryable)) = body_error.as_ref().and_then(BodyError::classify) {
        error.category = category;
        error.retryable = retryable;
    }
    let hint = RetryHint::from_headers(response.header("retry-after-ms"), response.header("retry-after"));
    error.with_retry_hint(hint)
}

/// The error for a request that got no response.
pub fn from_transport(provider: &str, error: HttpError, secret: Option<&str>) -> ToolError {
    match error {
        HttpError::Network(message) => ToolError::network(redact(&format!("{provider}: {message}"), secret)),
        HttpError::Aborted => ToolError::timeout(format!("{provider}: the request was aborted")),
    }
}

/// The error for a 2xx response that is not what the format promises.
pub fn malformed(provider: &str, what: &str) -> ToolError {
    // A truncated or garbled body is usually the connection or the provider
    // misbehaving, not the request: worth another try.
    ToolError::new(
        ToolErrorCategory::InvalidOutput,
        format!("{provider} sent a malformed response: {what}"),
    )
    .with_retryable(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn status_then_body_type() {
        let e = from_response(
            "openai",
            &response(
                429,
                r#"{"error":{"type":"requests","code":"rate_limit_exceeded","message":"slow down"}}"#,
                &[("retry-after", "3")],
            ),
            None,
        );
        assert_eq!(
            (e.category, e.retryable, e.status),
            (ToolErrorCategory::RateLimit, true, Some(429))
        );
        assert_eq!(e.retry_hint, Some(RetryHint::DelayMs(3000.0)));
        let e = from_response(
            "openai",
            &response(
                429,
                r#"{"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"pay"}}"#,
                &[],
            ),
            None,
        );
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::RateLimit, false));
        let e = from_response(
            "anthropic",
            &response(
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
                &[],
            ),
            None,
        );
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::Server, true));
        let e = from_response(
            "anthropic",
            &response(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#,
                &[],
            ),
            None,
        );
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::Client, false));
        let e = from_response(
            "x",
            &response(
                503,
                "<html>down</html>",
                &[("retry-after-ms", "250"), ("retry-after", "9")],
            ),
            None,
        );
        assert_eq!(
            (e.category, e.retry_hint),
            (ToolErrorCategory::Server, Some(RetryHint::DelayMs(250.0)))
        );
        let e = from_response("x", &response(200, r#"{"error":"quota"}"#, &[]), None);
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::Unknown, false));
    }

    #[test]
    fn keys_never_survive() {
        let key = "sk-proj-abcdefghijklmnop";
        let body = r#"{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided: sk-proj-abcdefghijklmnop. Also sk-proj-a****mnop."}}"#;
        let e = from_response("openai", &response(401, body, &[]), Some(key));
        assert!(!e.message.contains("abcdefgh"), "{}", e.message);
        assert!(!e.message.contains("sk-proj-a"), "{}", e.message);
        assert!(e.message.contains("[redacted]"));
        assert!(redact(&"x".repeat(1000), None).chars().count() <= MAX_MESSAGE + 1);
    }
}
