//! The HTTP client built-in provider tools speak through (`fetch` in wasm).

use futures::future::LocalBoxFuture;
use futures::stream::{LocalBoxStream, StreamExt};

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

/// A response whose body arrives in pieces of text (a streamed answer).
pub struct StreamingResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, piece by piece; an error ends it (a connection cut mid-body).
    pub body: LocalBoxStream<'static, Result<String, HttpError>>,
}

impl StreamingResponse {
    /// Reads the whole body (for an error status, whose body is not a stream).
    ///
    /// # Errors
    /// A failure while reading it.
    pub async fn into_response(mut self) -> Result<HttpResponse, HttpError> {
        let mut body = String::new();
        while let Some(piece) = self.body.next().await {
            body.push_str(&piece?);
        }
        Ok(HttpResponse {
            status: self.status,
            headers: self.headers,
            body,
        })
    }
}

/// Sends HTTP requests.
pub trait HttpClient {
    /// Sends `request`, aborting it when `signal` aborts.
    fn send(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<HttpResponse, HttpError>>;

    /// Sends `request` and hands back the body as it arrives. The default
    /// reads it whole and hands it back as one piece.
    fn send_streaming(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<StreamingResponse, HttpError>> {
        let sent = self.send(request, signal);
        Box::pin(async move {
            let response = sent.await?;
            Ok(StreamingResponse {
                status: response.status,
                headers: response.headers,
                body: futures::stream::once(async move { Ok(response.body) }).boxed_local(),
            })
        })
    }
}
