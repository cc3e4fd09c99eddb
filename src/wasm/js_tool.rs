//! A JS tool: `{ provider?, execute(request, toolOptions, ctx) }`, its
//! methods looked up once.

use futures::future::LocalBoxFuture;
use js_sys::{Function, Object};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

use super::errors::{cost_of, set, tool_error_from_js, usage_of};
use super::guard::{self, describe, settled, Unsettled};
use super::js_stream::chunks_of;
use super::js_value::{from_json, to_json_strict, JsPayload};
use crate::model::error::{OrchestratorError, ToolError};
use crate::orchestrator::DEFAULT_PROVIDER;
use crate::platform::{whole_as_stream, AbortReason, ChunkStream, Tool, ToolContext, ToolOutput};

/// A tool implemented in JS.
pub struct JsTool {
    name: String,
    provider: String,
    this: JsValue,
    execute: Function,
    stream: Option<Function>,
}

impl JsTool {
    /// Reads the tool registered as `name`; errors name `field` (`tools.<name>`).
    ///
    /// # Errors
    /// `invalid_config` when it is not an object with an `execute` function.
    pub fn from_js(name: &str, field: &str, value: &JsValue) -> Result<Self, OrchestratorError> {
        let unreadable = |key: &str, e: JsValue| OrchestratorError::config(format!("{field}.{key}"), describe(&e));
        if !guard::is_object_like(value) {
            return Err(OrchestratorError::config(
                field,
                "must be a tool: an object with `execute`",
            ));
        }
        let execute = guard::method(value, "execute")
            .map_err(|e| unreadable("execute", e))?
            .ok_or_else(|| OrchestratorError::config(format!("{field}.execute"), "must be a function"))?;
        let provider = guard::get(value, "provider").map_err(|e| unreadable("provider", e))?;
        let provider = match Some(provider).filter(|p| !p.is_undefined() && !p.is_null()) {
            None => DEFAULT_PROVIDER.to_owned(),
            Some(p) => p
                .as_string()
                .filter(|p| !p.is_empty() && p.len() <= 128)
                .ok_or_else(|| OrchestratorError::config(format!("{field}.provider"), "must be a non-empty string"))?,
        };
        let stream = match guard::get(value, "stream").map_err(|e| unreadable("stream", e))? {
            s if s.is_undefined() || s.is_null() => None,
            s => Some(
                s.dyn_into::<Function>()
                    .map_err(|_| OrchestratorError::config(format!("{field}.stream"), "must be a function"))?,
            ),
        };
        Ok(Self {
            name: name.to_owned(),
            provider,
            this: value.clone(),
            execute,
            stream,
        })
    }
}

impl JsTool {
    /// The object and its `execute`, for a driver calling the tool itself.
    pub fn host_parts(&self) -> (JsValue, Function) {
        (self.this.clone(), self.execute.clone())
    }
}

fn abort_reason_to_js(reason: AbortReason) -> JsValue {
    let (name, message) = match reason {
        AbortReason::AttemptTimeout => ("TimeoutError", "the attempt timed out"),
        AbortReason::Deadline => ("TimeoutError", "the run timed out"),
        AbortReason::TimeBudget => ("TimeoutError", "the run's time budget ran out"),
        AbortReason::Aborted => ("AbortError", "the run was aborted"),
        AbortReason::Superseded => ("AbortError", "the call is no longer needed"),
    };
    let error = js_sys::Error::new(message);
    error.set_name(name);
    error.into()
}

thread_local! {
    /// The package's context factory and its abort (`js/context.ts`), set when an
    /// orchestrator is built: a context whose `signal` is made only when read.
    static CONTEXT: std::cell::RefCell<Option<(Function, Function)>> = const { std::cell::RefCell::new(None) };
}

/// Uses `make(traceId, requestId, attempt, toolName, traceparent, partial)` and
/// `abort(ctx, reason)` to build tool contexts from now on.
pub fn use_context_factory(make: Function, abort: Function) {
    CONTEXT.with(|c| *c.borrow_mut() = Some((make, abort)));
}

/// `ctx` for one call; its `signal` follows the core's signal.
fn context_to_js(ctx: &ToolContext) -> JsValue {
    let factory = CONTEXT.with(|c| c.borrow().clone());
    if let Some((make, abort)) = factory {
        let partial = ctx.partial.as_deref().map_or(JsValue::UNDEFINED, JsValue::from_str);
        let args = [
            JsValue::from_str(&ctx.trace_id),
            JsValue::from_str(&ctx.request_id),
            JsValue::from(ctx.attempt),
            JsValue::from_str(&ctx.tool_name),
            JsValue::from_str(&ctx.traceparent),
            partial,
        ];
        if let Ok(made) = guard::call(&make, &JsValue::UNDEFINED, &args) {
            let target = made.clone();
            ctx.signal.on_abort(Box::new(move |reason| {
                let _ = guard::call(&abort, &JsValue::UNDEFINED, &[target, abort_reason_to_js(reason)]);
            }));
            return made;
        }
    }
    eager_context(ctx)
}

/// A plain `ctx` object with its own `AbortController` (when no factory is set).
fn eager_context(ctx: &ToolContext) -> JsValue {
    let out = Object::new();
    set(&out, "traceId", ctx.trace_id.as_str());
    set(&out, "requestId", ctx.request_id.as_str());
    set(&out, "attempt", ctx.attempt);
    set(&out, "toolName", ctx.tool_name.as_str());
    set(&out, "traceparent", ctx.traceparent.as_str());
    if let Some(partial) = &ctx.partial {
        set(&out, "partial", partial.as_str());
    }
    if let Ok(controller) = web_sys::AbortController::new() {
        set(&out, "signal", controller.signal());
        ctx.signal.on_abort(Box::new(move |reason| {
            controller.abort_with_reason(&abort_reason_to_js(reason))
        }));
    }
    out.into()
}

/// What a tool returned, checked: an object with `output`. Every read is
/// guarded: a revoked Proxy or a throwing getter is an invalid output, not a
/// trap. Not retryable: the same tool would answer the same way.
pub(super) fn output_from_js(tool: &str, value: JsValue) -> Result<ToolOutput<JsPayload>, ToolError> {
    let invalid = |message: String| ToolError::invalid_output(tool, message).with_retryable(false);
    let unreadable = |e: JsValue| invalid(format!("cannot be read: {}", describe(&e)));
    let is_record = value.is_object() && !guard::is_array(&value).map_err(unreadable)?;
    let has_output = is_record && js_sys::Reflect::has(&value, &JsValue::from_str("output")).map_err(unreadable)?;
    if !has_output {
        return Err(invalid("expected an object with `output`".into()));
    }
    let output = guard::get(&value, "output").map_err(unreadable)?;
    Ok(ToolOutput {
        output: JsPayload(output),
        usage: usage_of(&value).map_err(invalid)?,
        cost_usd: cost_of(&value),
        message: message_of(&value).map_err(invalid)?,
    })
}

/// The `message` a tool may return with its output (plain JSON), for
/// `result.message` and `validate`.
fn message_of(value: &JsValue) -> Result<Option<Value>, String> {
    let message = guard::get(value, "message").map_err(|e| format!("message cannot be read: {}", describe(&e)))?;
    if message.is_undefined() || message.is_null() {
        return Ok(None);
    }
    to_json_strict(&message).map(Some).map_err(|(path, m)| {
        format!(
            "message{} {m}",
            if path.is_empty() {
                String::new()
            } else {
                format!(".{path}")
            }
        )
    })
}

impl Tool<JsPayload> for JsTool {
    fn provider(&self) -> &str {
        &self.provider
    }

    /// A JS tool has no estimate: plans of JS tools are shared.
    fn estimate_reads_request(&self) -> bool {
        false
    }

    fn stream(&self, request: &JsPayload, options: &Value, ctx: ToolContext) -> ChunkStream {
        let Some(stream) = &self.stream else {
            return whole_as_stream(self.execute(request, options, ctx));
        };
        let options = if options.is_null() {
            Ok(JsValue::UNDEFINED)
        } else {
            from_json(options).map_err(|m| JsValue::from_str(&m))
        };
        let returned = options
            .and_then(|options| guard::call(stream, &self.this, &[request.0.clone(), options, context_to_js(&ctx)]));
        chunks_of(self.name.clone(), returned)
    }

    fn execute(
        &self,
        request: &JsPayload,
        options: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<JsPayload>, ToolError>> {
        let name = self.name.clone();
        let options = if options.is_null() {
            Ok(JsValue::UNDEFINED)
        } else {
            from_json(options)
        };
        let called = options.map_err(ToolError::client).and_then(|options| {
            self.execute
                .call3(&self.this, &request.0, &options, &context_to_js(&ctx))
                .map_err(tool_error_from_js)
        });
        Box::pin(async move {
            let returned = called?;
            let value = settled(returned).await.map_err(|e| match e {
                Unsettled::Rejected(thrown) => tool_error_from_js(thrown),
                Unsettled::Broken(thrown) => {
                    ToolError::invalid_output(&name, format!("its promise is broken: {}", describe(&thrown)))
                        .with_retryable(false)
                }
            })?;
            output_from_js(&name, value)
        })
    }
}
