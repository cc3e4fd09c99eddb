//! The HTTP client built-in provider tools speak through (`fetch` in wasm).

use futures::future::LocalBoxFuture;

use super::AbortSignal;

/// One HTTP request.
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<String>,
}

/// One HTTP response, body read in full.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// Connection refused, reset, DNS failure, ... (retryable).
    Network(String),
    /// The request was aborted through its signal.
    Aborted,
}

/// Sends HTTP requests.
pub trait HttpClient {
    /// Sends `request`, aborting it when `signal` aborts.
    fn send(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<HttpResponse, HttpError>>;
}
