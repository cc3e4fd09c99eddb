//! `validate(output, message)` as a [`Validator`]: a JS function (run option
//! or built-in tool option) that rejects by throwing, rejecting, or
//! returning (a promise of) `false`.

use futures::future::LocalBoxFuture;
use js_sys::Function;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

use super::guard::{self, describe, settled_or_thrown};
use super::js_value::{from_json, JsPayload};
use crate::platform::Validator;

/// A validator over JS outputs, shared.
pub type SharedValidator = std::rc::Rc<dyn Validator<JsPayload>>;

/// A JS validation function.
pub struct JsValidator(Function);

impl JsValidator {
    /// `value` as a validator, when it is a function.
    pub fn from_js(value: &JsValue) -> Option<Self> {
        value.clone().dyn_into::<Function>().ok().map(Self)
    }
}

impl Validator<JsPayload> for JsValidator {
    fn validate(&self, output: &JsPayload, message: Option<&Value>) -> LocalBoxFuture<'static, Result<(), String>> {
        let message = message.and_then(|m| from_json(m).ok()).unwrap_or(JsValue::NULL);
        let returned = guard::call(&self.0, &JsValue::UNDEFINED, &[output.0.clone(), message]);
        Box::pin(async move {
            let verdict = settled_or_thrown(returned.map_err(|e| describe(&e))?)
                .await
                .map_err(|e| describe(&e))?;
            if verdict.as_bool() == Some(false) {
                return Err("it returned false".into());
            }
            Ok(())
        })
    }
}
