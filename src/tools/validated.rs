//! A tool whose outputs pass a [`Validator`] (the built-in tools'
//! `validate` option): a rejected output is a retryable `invalid_output`.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde_json::Value;

use crate::model::error::ToolError;
use crate::platform::{check_output, Tool, ToolContext, ToolEstimate, ToolOutput, Validator};

/// `inner`, its outputs checked by `validator`.
pub struct Validated<V> {
    inner: Rc<dyn Tool<V>>,
    validator: Rc<dyn Validator<V>>,
}

impl<V> Validated<V> {
    /// Wraps `inner`.
    pub fn new(inner: Rc<dyn Tool<V>>, validator: Rc<dyn Validator<V>>) -> Self {
        Self { inner, validator }
    }
}

impl<V: 'static> Tool<V> for Validated<V> {
    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn execute(
        &self,
        request: &V,
        options: &Value,
        ctx: ToolContext,
    ) -> LocalBoxFuture<'static, Result<ToolOutput<V>, ToolError>> {
        let name = ctx.tool_name.clone();
        let call = self.inner.execute(request, options, ctx);
        let validator = Rc::clone(&self.validator);
        Box::pin(async move { check_output(Some(validator), &name, call.await?).await })
    }

    fn estimate(&self, request: &V, options: &Value) -> ToolEstimate {
        self.inner.estimate(request, options)
    }

    fn estimate_reads_request(&self) -> bool {
        self.inner.estimate_reads_request()
    }
}
