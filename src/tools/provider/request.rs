//! The HTTP request a provider call sends: URL with its query, headers
//! (content type, auth, version, the user's, trace propagation).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::config::{header_problem, redact_name, Auth, ProviderConfig};
use crate::model::error::ToolError;
use crate::platform::ToolContext;

/// Percent-encodes `text` for a query component (RFC 3986 unreserved kept).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `{base}{path}` with `query` appended.
pub(super) fn url(base: &str, path: &str, query: &BTreeMap<String, String>) -> String {
    let mut url = format!("{base}{path}");
    for (i, (k, v)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        let _ = write!(url, "{}={}", encode(k), encode(v));
    }
    url
}

/// The auth header for `key` sent as `auth` says (`default_header` being
/// the format's own: `None` for a bearer token).
fn auth_header(auth: &Auth, default_header: Option<&str>, key: Option<&str>) -> Option<(String, String)> {
    let key = key?;
    let bearer = || ("authorization".to_owned(), format!("Bearer {key}"));
    match auth {
        Auth::None => None,
        Auth::Bearer => Some(bearer()),
        Auth::Header(name) => Some((name.clone(), key.to_owned())),
        Auth::Default => Some(default_header.map_or_else(bearer, |h| (h.to_owned(), key.to_owned()))),
    }
}

/// Every header of a call, checked: a header the caller's input made
/// invalid is a non-retryable client error here, before `fetch` would
/// reject it as a (retryable, breaker-counting) network failure.
pub(super) fn headers(
    config: &ProviderConfig,
    default_auth_header: Option<&str>,
    version: Option<(&str, &str)>,
    ctx: &ToolContext,
) -> Result<Vec<(String, String)>, ToolError> {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some((name, default)) = version {
        let value = config.anthropic_version.as_deref().unwrap_or(default);
        headers.push((name.to_owned(), value.to_owned()));
    }
    let key = config.api_key.as_ref().map(super::ApiKey::expose);
    headers.extend(auth_header(&config.auth, default_auth_header, key));
    for (k, v) in &config.headers {
        let k = k.to_ascii_lowercase();
        headers.retain(|(name, _)| *name != k);
        headers.push((k, v.clone()));
    }
    headers.push(("traceparent".into(), ctx.traceparent.clone()));
    headers.push(("x-request-id".into(), ctx.request_id.clone()));
    if let Some((name, problem)) = headers.iter().find_map(|(k, v)| header_problem(k, v).map(|p| (k, p))) {
        return Err(ToolError::client(format!("header `{}` {problem}", redact_name(name))));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_encoded() {
        let query = BTreeMap::from([
            ("api-version".to_owned(), "2024-10-21".to_owned()),
            ("a b".into(), "x&y=z".into()),
        ]);
        assert_eq!(
            url("https://h/v1", "/chat/completions", &query),
            "https://h/v1/chat/completions?a%20b=x%26y%3Dz&api-version=2024-10-21"
        );
        assert_eq!(url("https://h", "/m", &BTreeMap::new()), "https://h/m");
    }

    #[test]
    fn auth_modes() {
        let key = Some("k123");
        assert_eq!(auth_header(&Auth::Default, None, key).unwrap().1, "Bearer k123");
        assert_eq!(
            auth_header(&Auth::Default, Some("x-api-key"), key).unwrap().0,
            "x-api-key"
        );
        assert_eq!(
            auth_header(&Auth::Bearer, Some("x-api-key"), key).unwrap().0,
            "authorization"
        );
        assert_eq!(
            auth_header(&Auth::Header("api-key".into()), None, key),
            Some(("api-key".into(), "k123".into()))
        );
        assert_eq!(auth_header(&Auth::None, None, key), None);
        assert_eq!(auth_header(&Auth::Bearer, None, None), None);
    }
}
