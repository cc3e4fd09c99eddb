//! Turning what came back from a provider into a [`ToolError`]: the HTTP
//! status first, refined by the error type in the body, plus the server's
//! retry hint. Messages are redacted so a provider echoing the API key
//! (OpenAI's 401 does, partly masked) never carries it into errors, events
//! or logs.

use serde_json::Value;

use crate::model::error::{ToolError, ToolErrorCategory};
use crate::platform::{HttpError, HttpResponse};
use crate::reliability::RetryHint;

/// Longest provider message kept in an error.
const MAX_MESSAGE: usize = 300;

/// The error a provider put in its body: `{ error: { type | code, message } }`
/// (OpenAI; OpenRouter's numeric `code` on an HTTP 200), `{ type: "error",
/// error: { type, message } }` (Anthropic), `[{ error: { code, message,
/// status } }]` (Gemini's compatibility endpoint) or `{ success: false,
/// errors: [{ code, message }] }` (Cloudflare Workers AI).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyError {
    /// `rate_limit_error`, `insufficient_quota`, `overloaded_error`, `RESOURCE_EXHAUSTED`, ...
    pub kind: Option<String>,
    /// A numeric code that is an HTTP status (OpenRouter, Gemini).
    pub status: Option<u16>,
    /// The provider's description.
    pub message: Option<String>,
}

/// A numeric `code` read as an HTTP status when it is one.
fn http_code(value: Option<&Value>) -> Option<u16> {
    value
        .and_then(Value::as_u64)
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| u16::try_from(c).ok())
}

impl BodyError {
    /// Reads the error object of a JSON body, if there is one.
    pub fn from_body(body: &Value) -> Option<Self> {
        if let Some(first) = body.as_array().and_then(|a| a.first()) {
            return Self::from_body(first);
        }
        if body.get("success") == Some(&Value::Bool(false)) {
            return Some(Self::cloudflare(body));
        }
        let error = body.get("error").filter(|e| !e.is_null())?;
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(match error {
            Value::String(message) => Self {
                message: Some(message.clone()),
                ..Self::default()
            },
            _ => Self {
                // OpenAI's `code` is the more specific (`insufficient_quota` under type `insufficient_quota`,
                // `rate_limit_exceeded` under `requests`); Gemini's `status` names the kind.
                kind: text("code").or_else(|| text("type")).or_else(|| text("status")),
                status: http_code(error.get("code")),
                message: text("message"),
            },
        })
    }

    /// `{ success: false, errors: [{ code, message }] }`.
    fn cloudflare(body: &Value) -> Self {
        let first = body.pointer("/errors/0");
        let code = first.and_then(|e| e.get("code"));
        Self {
            kind: code.and_then(Value::as_u64).map(|c| format!("cloudflare_{c}")),
            status: http_code(code),
            message: first
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// The category this kind names, with whether it is worth retrying.
    fn classify(&self) -> Option<(ToolErrorCategory, bool)> {
        let kind = self.kind.as_deref()?.to_ascii_lowercase();
        Some(match kind.as_str() {
            // Out of credit: waiting will not help, and it is not the provider failing.
            "insufficient_quota" | "billing_hard_limit_reached" => (ToolErrorCategory::RateLimit, false),
            k if k.contains("rate_limit") => (ToolErrorCategory::RateLimit, true),
            k if k.contains("overloaded") || k == "api_error" || k == "server_error" => {
                (ToolErrorCategory::Server, true)
            }
            k if k.contains("timeout") || k == "deadline_exceeded" => (ToolErrorCategory::Timeout, true),
            "resource_exhausted" => (ToolErrorCategory::RateLimit, true),
            // Workers AI's "capacity temporarily exceeded".
            "unavailable" | "internal" | "cloudflare_3040" => (ToolErrorCategory::Server, true),
            "invalid_argument" | "failed_precondition" | "permission_denied" | "unauthenticated" | "not_found" => {
                (ToolErrorCategory::Client, false)
            }
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
/// `sk-pro****abcd`).
fn redact_one(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_owned();
    }
    let replaced = text.replace(secret, "[redacted]");
    let prefix: String = secret.chars().take(6).collect();
    let masked_echo = |word: &str| secret.len() >= 12 && word.contains(&prefix);
    replaced
        .split(' ')
        .map(|word| if masked_echo(word) { "[redacted]" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` with every secret of `secrets` redacted ([`redact_one`]), its
/// length capped.
pub fn redact<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut out = secrets
        .iter()
        .fold(text.to_owned(), |text, secret| redact_one(&text, secret.as_ref()));
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
pub fn from_response<S: AsRef<str>>(provider: &str, response: &HttpResponse, secrets: &[S]) -> ToolError {
    let body: Option<Value> = serde_json::from_str(&response.body).ok();
    let body_error = body.as_ref().and_then(BodyError::from_body);
    let detail = body_error
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| response.body.chars().take(120).collect());
    let kind = body_error
        .as_ref()
        .and_then(|e| e.kind.clone().or_else(|| e.status.map(|s| s.to_string())));
    let message = match &kind {
        Some(kind) => format!("{provider} answered {} ({kind}): {detail}", response.status),
        None => format!("{provider} answered {}: {detail}", response.status),
    };
    let message = redact(&message, secrets);
    let ok_status = (200..300).contains(&response.status);
    let mut error = match body_error.as_ref().and_then(|e| e.status) {
        _ if !ok_status => ToolError::from_status(response.status, message),
        // An error in a 200 body (OpenRouter, Gemini): its code is the status.
        Some(status) => ToolError::from_status(status, message),
        None => ToolError::new(ToolErrorCategory::Unknown, message),
    };
    if let Some((category, retryable)) = body_error.as_ref().and_then(BodyError::classify) {
        error.category = category;
        error.retryable = retryable;
    }
    let [ms, seconds] = HINT_HEADERS.map(|name| response.header(name));
    error.with_retry_hint(RetryHint::from_headers(ms, seconds))
}

/// The only headers a failure is read from (a retry hint): a host that
/// sends the request itself need hand over no others.
pub const HINT_HEADERS: [&str; 2] = ["retry-after-ms", "retry-after"];

/// The error for a request that got no response.
pub fn from_transport<S: AsRef<str>>(provider: &str, error: HttpError, secrets: &[S]) -> ToolError {
    match error {
        HttpError::Network(message) => ToolError::network(redact(&format!("{provider}: {message}"), secrets)),
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

    const NONE: &[&str] = &[];

    #[test]
    fn errors_in_200_bodies() {
        let cases = [
            (
                r#"{"error":{"code":502,"message":"upstream"}}"#,
                ToolErrorCategory::Server,
                true,
            ),
            (
                r#"{"error":{"code":429,"message":"slow"}}"#,
                ToolErrorCategory::RateLimit,
                true,
            ),
            (
                r#"{"error":{"code":400,"message":"bad"}}"#,
                ToolErrorCategory::Client,
                false,
            ),
            (
                r#"[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]"#,
                ToolErrorCategory::RateLimit,
                true,
            ),
            (
                r#"[{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}]"#,
                ToolErrorCategory::Server,
                true,
            ),
            (
                r#"{"success":false,"errors":[{"code":3040,"message":"Capacity temporarily exceeded"}],"result":null}"#,
                ToolErrorCategory::Server,
                true,
            ),
            (
                r#"{"success":false,"errors":[{"code":7000,"message":"?"}]}"#,
                ToolErrorCategory::Unknown,
                false,
            ),
        ];
        for (body, category, retryable) in cases {
            let e = from_response("x", &response(200, body, &[]), NONE);
            assert_eq!((e.category, e.retryable), (category, retryable), "{body}");
        }
        // A non-2xx status wins over the body's code.
        let e = from_response(
            "x",
            &response(
                404,
                r#"[{"error":{"code":404,"message":"no model","status":"NOT_FOUND"}}]"#,
                &[],
            ),
            NONE,
        );
        assert_eq!(
            (e.category, e.retryable, e.status),
            (ToolErrorCategory::Client, false, Some(404))
        );
        assert!(BodyError::from_body(&serde_json::json!({ "success": true, "errors": [] })).is_none());
        assert!(BodyError::from_body(&serde_json::json!({ "choices": [], "error": null })).is_none());
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
            NONE,
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
            NONE,
        );
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::RateLimit, false));
        let e = from_response(
            "anthropic",
            &response(
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
                &[],
            ),
            NONE,
        );
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::Server, true));
        let e = from_response(
            "anthropic",
            &response(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#,
                &[],
            ),
            NONE,
        );
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::Client, false));
        let e = from_response(
            "x",
            &response(
                503,
                "<html>down</html>",
                &[("retry-after-ms", "250"), ("retry-after", "9")],
            ),
            NONE,
        );
        assert_eq!(
            (e.category, e.retry_hint),
            (ToolErrorCategory::Server, Some(RetryHint::DelayMs(250.0)))
        );
        let e = from_response("x", &response(200, r#"{"error":"quota"}"#, &[]), NONE);
        assert_eq!((e.category, e.retryable), (ToolErrorCategory::Unknown, false));
    }

    #[test]
    fn keys_never_survive() {
        let key = "sk-proj-abcdefghijklmnop";
        let body = r#"{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided: sk-proj-abcdefghijklmnop. Also sk-proj-a****mnop."}}"#;
        let e = from_response("openai", &response(401, body, &[]), &[key]);
        assert!(!e.message.contains("abcdefgh"), "{}", e.message);
        assert!(!e.message.contains("sk-proj-a"), "{}", e.message);
        assert!(e.message.contains("[redacted]"));
        assert!(redact(&"x".repeat(1000), NONE).chars().count() <= MAX_MESSAGE + 1);
    }
}
