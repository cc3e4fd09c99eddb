//! [`HttpClient`] over the host's `fetch`, found on the global object so the
//! same code runs in Window, Worker, Node and workerd. The core's abort
//! signal drives an `AbortController`, so a timed-out attempt really cancels
//! its request.

use futures::future::LocalBoxFuture;
use futures::StreamExt;
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::errors::set;
use super::guard::{self, describe, prop, settled_or_thrown, Unsettled};
use super::pull::Pull;
use crate::platform::{AbortSignal, HttpClient, HttpError, HttpRequest, HttpResponse, StreamingResponse};

/// `fetch` as an [`HttpClient`].
pub struct FetchClient;

fn failed(signal: &AbortSignal, error: &JsValue) -> HttpError {
    if signal.is_aborted() {
        HttpError::Aborted
    } else {
        network(error)
    }
}

/// What `fetch` or a body read rejected with, as a network failure.
pub fn network(error: &JsValue) -> HttpError {
    // `fetch` rejects with a TypeError for refused, reset or dropped connections;
    // its `cause` (Node's undici) says which.
    let cause = prop(error, "cause")
        .map(|c| format!(" ({})", describe(&c)))
        .unwrap_or_default();
    HttpError::Network(format!("{}{cause}", describe(error)))
}

/// Headers a response may carry: more is a hostile or broken `Headers`.
const MAX_HEADERS: usize = 256;

/// The response's headers, lowercased. Read through guarded calls and
/// bounded: an iterator that throws (or never ends) stops the reading.
fn headers_of(response: &JsValue) -> Vec<(String, String)> {
    let Some(headers) = prop(response, "headers") else {
        return Vec::new();
    };
    let Ok(Some(entries)) = js_sys::try_iter(&headers) else {
        return Vec::new();
    };
    entries
        .take(MAX_HEADERS)
        .map_while(Result::ok)
        .filter_map(|pair| {
            let name = guard::get_index(&pair, 0).ok()?.as_string()?;
            let value = guard::get_index(&pair, 1).ok()?.as_string()?;
            Some((name.to_ascii_lowercase(), value))
        })
        .collect()
}

/// Sends the request with the host's `fetch` (cancellable through `signal`,
/// an `AbortSignal`, when given): `fetch`'s promise of the `Response`.
fn start(request: &HttpRequest, signal: Option<&JsValue>) -> Result<JsValue, HttpError> {
    let global = js_sys::global();
    let fetch = prop(&global, "fetch")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| HttpError::Network("this host has no fetch".into()))?;
    let init = Object::new();
    set(&init, "method", request.method.as_str());
    let headers = Object::new();
    for (name, value) in &request.headers {
        // Names from the request, not the crate's own: made per call.
        let _ = Reflect::set(&headers, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    set(&init, "headers", headers);
    if let Some(body) = &request.body {
        set(&init, "body", body.as_str());
    }
    if let Some(signal) = signal {
        set(&init, "signal", signal);
    }
    fetch
        .call2(&global, &JsValue::from_str(&request.url), &init)
        .map_err(|e| network(&e))
}

/// Sends the request; resolves with the `Response` once its head arrived.
async fn fetch_head(request: &HttpRequest, signal: &AbortSignal) -> Result<JsValue, HttpError> {
    if signal.is_aborted() {
        return Err(HttpError::Aborted);
    }
    // A quiet signal never aborts: `fetch` is then not made cancellable.
    let controller = signal
        .may_abort()
        .then(web_sys::AbortController::new)
        .and_then(Result::ok);
    let promise = match controller {
        Some(controller) => {
            let promise = start(request, Some(&controller.signal()));
            signal.on_abort(Box::new(move |_| controller.abort()));
            promise
        }
        None => start(request, None),
    };
    settled_or_thrown(promise?).await.map_err(|e| failed(signal, &e))
}

fn status_of(response: &JsValue) -> u16 {
    let status = prop(response, "status").and_then(|s| s.as_f64()).unwrap_or(0.0);
    status.clamp(0.0, 999.0) as u16
}

async fn send(request: HttpRequest, signal: AbortSignal) -> Result<HttpResponse, HttpError> {
    let response = fetch_head(&request, &signal).await?;
    let status = status_of(&response);
    let headers = headers_of(&response);
    // A connection dropped mid-body rejects while the text is read.
    let body = send_rest(response, signal).await?;
    Ok(HttpResponse { status, headers, body })
}

/// A body reader: `response.body.getReader()`, cancelled when dropped early.
struct BodyReader {
    reader: Pull,
    /// Bytes of a UTF-8 sequence split across reads.
    carry: Vec<u8>,
}

impl BodyReader {
    fn open(response: &JsValue) -> Option<Self> {
        let body = prop(response, "body")?;
        let reader = Pull::reader_of(&body).ok()??;
        Some(Self {
            reader,
            carry: Vec::new(),
        })
    }

    /// The next piece of text; `None` at the end.
    async fn next(&mut self, signal: &AbortSignal) -> Option<Result<String, HttpError>> {
        loop {
            let step = match self.reader.step().await {
                Ok(step) => step,
                Err(Unsettled::Rejected(e) | Unsettled::Broken(e)) => return Some(Err(failed(signal, &e))),
            };
            if guard::get(&step, "done").ok().and_then(|d| d.as_bool()).unwrap_or(true) {
                self.reader.finished();
                return None;
            }
            let bytes = match guard::get(&step, "value").map(|v| v.dyn_into::<js_sys::Uint8Array>()) {
                Ok(Ok(bytes)) => bytes.to_vec(),
                _ => {
                    return Some(Err(HttpError::Network(
                        "the body stream gave something other than bytes".into(),
                    )))
                }
            };
            self.carry.extend_from_slice(&bytes);
            let valid = match std::str::from_utf8(&self.carry) {
                Ok(text) => text.len(),
                Err(e) => e.valid_up_to(),
            };
            if valid > 0 {
                let rest = self.carry.split_off(valid);
                let text = String::from_utf8_lossy(&std::mem::replace(&mut self.carry, rest)).into_owned();
                return Some(Ok(text));
            }
        }
    }
}

async fn send_streaming(request: HttpRequest, signal: AbortSignal) -> Result<StreamingResponse, HttpError> {
    let response = fetch_head(&request, &signal).await?;
    let status = status_of(&response);
    let headers = headers_of(&response);
    let Some(reader) = BodyReader::open(&response) else {
        // No readable body (an old host): the whole text, as one piece.
        let whole = send_rest(response, signal).await;
        return Ok(StreamingResponse {
            status,
            headers,
            body: futures::stream::once(async move { whole }).boxed_local(),
        });
    };
    let body = futures::stream::unfold((reader, signal), |(mut reader, signal)| async move {
        let piece = reader.next(&signal).await?;
        Some((piece, (reader, signal)))
    });
    Ok(StreamingResponse {
        status,
        headers,
        body: body.boxed_local(),
    })
}

async fn send_rest(response: JsValue, signal: AbortSignal) -> Result<String, HttpError> {
    let text = guard::method(&response, "text")
        .ok()
        .flatten()
        .ok_or_else(|| HttpError::Network("the response has no text()".into()))?;
    let body = guard::call(&text, &response, &[]).map_err(|e| failed(&signal, &e))?;
    let body = settled_or_thrown(body).await.map_err(|e| failed(&signal, &e))?;
    Ok(body.as_string().unwrap_or_default())
}

impl HttpClient for FetchClient {
    fn send(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<HttpResponse, HttpError>> {
        Box::pin(send(request, signal))
    }

    fn send_streaming(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<StreamingResponse, HttpError>> {
        Box::pin(send_streaming(request, signal))
    }
}
