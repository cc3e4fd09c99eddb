//! Checking what a tool returned before the run accepts it: a run option
//! (`validate`) or a built-in tool option. A rejection makes the attempt a
//! retryable `invalid_output`, so the retry policy and fallbacks apply; it
//! does not count against the provider's circuit breaker.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde_json::Value;

use super::ToolOutput;
use crate::model::error::ToolError;

/// Accepts or rejects a tool's output and its normalised assistant message.
pub trait Validator<V> {
    /// `Ok` accepts; `Err` says why not.
    ///
    /// # Errors
    /// Why the output is rejected.
    fn validate(&self, output: &V, message: Option<&Value>) -> LocalBoxFuture<'static, Result<(), String>>;
}

/// A plain function as a validator (native callers and tests).
impl<V, F> Validator<V> for F
where
    F: Fn(&V, Option<&Value>) -> Result<(), String>,
{
    fn validate(&self, output: &V, message: Option<&Value>) -> LocalBoxFuture<'static, Result<(), String>> {
        let verdict = self(output, message);
        Box::pin(async move { verdict })
    }
}

/// `out` if `validator` accepts it, else a retryable `invalid_output` for
/// `tool_name` that still carries the call's usage and cost (they were paid)
/// and is not held against the provider's breaker (the provider answered).
///
/// # Errors
/// The rejection as a retryable `invalid_output`.
pub async fn check_output<V>(
    validator: Option<Rc<dyn Validator<V>>>,
    tool_name: &str,
    out: ToolOutput<V>,
) -> Result<ToolOutput<V>, ToolError> {
    let Some(validator) = validator else {
        return Ok(out);
    };
    match validator.validate(&out.output, out.message.as_ref()).await {
        Ok(()) => Ok(out),
        Err(why) => {
            let mut error = ToolError::invalid_output(tool_name, format!("rejected by validate: {why}"));
            error.retryable = true;
            error.rejected_by_validate = true;
            error.usage = out.usage;
            error.cost_usd = out.cost_usd;
            Err(error)
        }
    }
}
