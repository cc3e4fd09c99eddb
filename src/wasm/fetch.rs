//! [`HttpClient`] over the host's `fetch`, found on the global object so the
//! same code runs in Window, Worker, Node and workerd. The core's abort
//! signal drives an `AbortController`, so a timed-out attempt really cancels
//! its request.

use futures::future::LocalBoxFuture;
use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::errors::set;
use super::guard::{self, describe, prop, settled_or_thrown};
use crate::platform::{AbortSignal, HttpClient, HttpError, HttpRequest, HttpResponse};

/// `fetch` as an [`HttpClient`].
pub struct FetchClient;

fn failed(signal: &AbortSignal, error: &JsValue) -> HttpError {
    if signal.is_aborted() {
        HttpError::Aborted
    } else {
        // `fetch` rejects with a TypeError for refused, reset or dropped connections;
        // its `cause` (Node's undici) says which.
        let cause = prop(error, "cause")
            .map(|c| format!(" ({})", describe(&c)))
            .unwrap_or_default();
        HttpError::Network(format!("{}{cause}", describe(error)))
    }
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

async fn send(request: HttpRequest, signal: AbortSignal) -> Result<HttpResponse, HttpError> {
    let global = js_sys::global();
    let fetch = prop(&global, "fetch")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| HttpError::Network("this host has no fetch".into()))?;
    let init = Object::new();
    set(&init, "method", request.method.as_str());
    let headers = Object::new();
    for (name, value) in &request.headers {
        set(&headers, name, value.as_str());
    }
    set(&init, "headers", headers);
    if let Some(body) = &request.body {
        set(&init, "body", body.as_str());
    }
    if signal.is_aborted() {
        return Err(HttpError::Aborted);
    }
    if let Ok(controller) = web_sys::AbortController::new() {
        set(&init, "signal", controller.signal());
        signal.on_abort(Box::new(move |_| controller.abort()));
    }
    let promise = fetch
        .call2(&global, &JsValue::from_str(&request.url), &init)
        .map_err(|e| failed(&signal, &e))?;
    let response = settled_or_thrown(promise).await.map_err(|e| failed(&signal, &e))?;
    let status = prop(&response, "status").and_then(|s| s.as_f64()).unwrap_or(0.0);
    let headers = headers_of(&response);
    let text = guard::method(&response, "text")
        .ok()
        .flatten()
        .ok_or_else(|| HttpError::Network("the response has no text()".into()))?;
    let body = guard::call(&text, &response, &[]).map_err(|e| failed(&signal, &e))?;
    // A connection dropped mid-body rejects here.
    let body = settled_or_thrown(body).await.map_err(|e| failed(&signal, &e))?;
    Ok(HttpResponse {
        status: status.clamp(0.0, 999.0) as u16,
        headers,
        body: body.as_string().unwrap_or_default(),
    })
}

impl HttpClient for FetchClient {
    fn send(
        &self,
        request: HttpRequest,
        signal: AbortSignal,
    ) -> LocalBoxFuture<'static, Result<HttpResponse, HttpError>> {
        Box::pin(send(request, signal))
    }
}
