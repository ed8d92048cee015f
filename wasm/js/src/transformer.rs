//! `TransformerModel`: the quantized transformer of a `sasrec` bundle in JS (crate feature
//! `model`). Today it answers next-item recommendations on its own, for benchmarks and
//! on-device use; the engine's re-rank stage will call the same `ServingModel`.

use edgerec::model::{Compute, ServingModel};
use edgerec::{Bundle, TrustedKey};
use wasm_bindgen::prelude::*;

use super::{bundle_error, js_error, parse_options, to_js};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ModelOptions {
    public_key: Option<String>,
    /// `dequantized` (default: f32 weights, fastest in wasm) or `quantized` (QMatMul).
    compute: Option<String>,
}

#[derive(serde::Serialize)]
struct Scored {
    id: String,
    score: f32,
}

#[derive(serde::Serialize)]
struct Answer {
    items: Vec<Scored>,
    ignored: Vec<String>,
}

#[wasm_bindgen]
pub struct TransformerModel {
    inner: ServingModel,
}

#[wasm_bindgen]
impl TransformerModel {
    /// Verifies and loads a `sasrec` bundle. Options: `{publicKey?: string, compute?:
    /// "dequantized" | "quantized"}`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        bundle: &[u8],
        #[wasm_bindgen(
            unchecked_param_type = "{publicKey?: string, compute?: string} | undefined"
        )]
        options: JsValue,
    ) -> Result<TransformerModel, JsValue> {
        let options: ModelOptions = parse_options(&options, "{\"compute\": \"dequantized\"}")?;
        let compute = match options.compute.as_deref() {
            None | Some("dequantized") => Compute::Dequantized,
            Some("quantized") => Compute::Quantized,
            Some(other) => {
                return Err(js_error(
                    "invalid_options",
                    Some("compute"),
                    &format!("compute must be \"dequantized\" or \"quantized\", found {other:?}"),
                ))
            }
        };
        let trusted = options
            .public_key
            .map(|k| TrustedKey::from_hex(&k))
            .transpose()
            .map_err(bundle_error)?;
        let parsed = Bundle::parse_trusted(bundle, trusted.as_ref()).map_err(bundle_error)?;
        let inner = ServingModel::from_bundle(&parsed, compute).map_err(bundle_error)?;
        Ok(TransformerModel { inner })
    }

    /// The `k` most likely next items after `history` (item ids, oldest first):
    /// `{items: [{id, score}], ignored: [unknown ids]}`.
    pub fn recommend(&self, history: Vec<String>, k: usize) -> Result<JsValue, JsValue> {
        let refs: Vec<&str> = history.iter().map(String::as_str).collect();
        let answer = self
            .inner
            .recommend(&refs, k)
            .map_err(|e| js_error("model_error", None, &e.to_string()))?;
        let ignored = answer.ignored;
        let items = answer
            .items
            .into_iter()
            .map(|(id, score)| Scored { id, score })
            .collect();
        Ok(to_js(&Answer { items, ignored }))
    }

    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> usize {
        self.inner.item_ids.len()
    }
}
