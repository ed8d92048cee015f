//! `TextEmbedder`: sentence embeddings of texts from a `text-encoder` bundle in JS (crate feature
//! `text`): the bundle's tokenizer and encoder, the same code the trainer embeds with. Named
//! `TextEmbedder`, not `TextEncoder` (a JS built-in).

use edgerec::EmbedError;
use edgerec::TrustedKey;
use js_sys::Float32Array;
use wasm_bindgen::prelude::*;

use super::{bundle_error, js_error, parse_compute, parse_options};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EmbedderOptions {
    public_key: Option<String>,
    /// `quantized` (default: int8 kernels) or `dequantized` (candle's f32 ops).
    compute: Option<String>,
}

fn embed_error(e: EmbedError) -> JsValue {
    js_error(e.code(), None, &e.to_string())
}

#[wasm_bindgen]
pub struct TextEmbedder {
    inner: edgerec::TextEmbedder,
}

#[wasm_bindgen]
impl TextEmbedder {
    /// Verifies and loads a `text-encoder` bundle. Options: `{publicKey?: string, compute?:
    /// "quantized" | "dequantized"}`. Throws `EdgerecError` with the bundle's error code.
    #[wasm_bindgen(constructor)]
    pub fn new(
        bundle: &[u8],
        #[wasm_bindgen(
            unchecked_optional_param_type = "{publicKey?: string, compute?: \"quantized\" | \"dequantized\"}"
        )]
        options: Option<JsValue>,
    ) -> Result<TextEmbedder, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        const EXAMPLE: &str =
            "{\"publicKey\": \"<64 hex digits>\", \"compute\": \"quantized\" | \"dequantized\"}";
        let options: EmbedderOptions = parse_options(&options, EXAMPLE)?;
        let compute = parse_compute(options.compute.as_deref(), EXAMPLE)?;
        let trusted = options
            .public_key
            .map(|k| TrustedKey::from_hex(&k))
            .transpose()
            .map_err(bundle_error)?;
        let inner = edgerec::TextEmbedder::from_bundle_bytes(bundle, trusted.as_ref(), compute)
            .map_err(bundle_error)?;
        Ok(TextEmbedder { inner })
    }

    /// The sentence embedding of `text` (`dimension` values, L2-normalised). Texts longer than
    /// the bundle's `maxLen` tokens are truncated; an empty text embeds as `[CLS] [SEP]`.
    pub fn embed(&self, text: &str) -> Result<Float32Array, JsValue> {
        let row = self.inner.embed_one(text).map_err(embed_error)?;
        Ok(Float32Array::from(row.as_slice()))
    }

    /// The embeddings of `texts`, in order; run in batches of similar length, so faster than
    /// one call per text, and equal to it up to float rounding.
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(&self, texts: Vec<String>) -> Result<Vec<Float32Array>, JsValue> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let rows = self.inner.embed(&refs).map_err(embed_error)?;
        Ok(rows
            .iter()
            .map(|r| Float32Array::from(r.as_slice()))
            .collect())
    }

    /// The length of each embedding.
    #[wasm_bindgen(getter)]
    pub fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    /// Tokens per text (special tokens included) before truncation.
    #[wasm_bindgen(getter, js_name = maxLen)]
    pub fn max_len(&self) -> usize {
        self.inner.max_len()
    }
}
