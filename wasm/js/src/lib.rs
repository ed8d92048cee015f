//! JS bindings: a thin layer that converts between JS values and the engine's types.
//! Every error is thrown as a JS `Error` with a stable `code` (and `field` where one is at fault).

use edgerec::{RecommendRequest, RequestError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A recommendation request. */
export interface RecommendRequest {
  /** Item ids the user interacted with in this session, oldest first (at most 200). */
  history: string[];
  /** How many items to return, 1..=200. Default 20. */
  k?: number;
  /** Also return items already in `history`. Default false. */
  include_seen?: boolean;
}

/** One recommended item. `source` says why: co-visited with the history, or a popularity fill. */
export interface RecommendedItem {
  id: string;
  score: number;
  source: "covisit" | "popular";
}

/** A history item the engine could not use (e.g. not in the model's catalog). */
export interface IgnoredItem {
  position: number;
  id: string;
  reason: "unknown_item";
}

export interface RecommendResponse {
  items: RecommendedItem[];
  ignored: IgnoredItem[];
}

/** The bundle's manifest: model kind, counts, metrics, creation time, checksums. */
export interface Manifest {
  format_version: number;
  model_kind: string;
  model_params: Record<string, unknown>;
  counts: Record<string, number>;
  metrics: Record<string, number>;
  created_at: string;
  training_data: unknown;
  payload_sha256: string;
  sections: { name: string; offset: number; length: number }[];
}

/** Errors thrown by the engine carry a stable code, and the request field at fault if any. */
export interface EdgerecError extends Error {
  code: string;
  field?: string;
}
"#;

fn js_error(code: &str, field: Option<&str>, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("EdgerecError");
    let set = |key: &str, value: &str| {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&error, &key.into(), &value.into());
    };
    set("code", code);
    if let Some(field) = field {
        set("field", field);
    }
    error.into()
}

fn request_error(e: &RequestError) -> JsValue {
    js_error(e.code(), e.field(), &e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .expect("engine outputs are JSON-compatible")
}

/// A loaded model bundle.
#[wasm_bindgen]
pub struct Engine {
    inner: edgerec::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// Verifies and loads a bundle from its bytes. Throws `EdgerecError` (`bad_magic`,
    /// `unsupported_version`, `truncated`, `checksum_mismatch`, ...) if it is not a valid bundle.
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8]) -> Result<Engine, JsValue> {
        edgerec::Engine::from_bundle(bundle)
            .map(|inner| Engine { inner })
            .map_err(|e| js_error(e.code(), None, &e.to_string()))
    }

    /// Recommends items for a session. Throws `EdgerecError` naming the bad field.
    #[wasm_bindgen(unchecked_return_type = "RecommendResponse")]
    pub fn recommend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecommendRequest")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        if !request.is_object() || js_sys::Array::is_array(&request) {
            let found = if request.is_null() {
                "null"
            } else if request.is_undefined() {
                "undefined"
            } else {
                "a non-object value"
            };
            return Err(request_error(&RequestError::NotAnObject { found }));
        }
        // Going through JSON text gives the same validation and messages as the worker's HTTP API.
        let body = js_sys::JSON::stringify(&request)
            .map_err(|_| js_error("invalid_json", None, "request cannot be serialised to JSON"))?;
        let body = String::from(body);
        let request =
            RecommendRequest::from_json(body.as_bytes()).map_err(|e| request_error(&e))?;
        let response = self
            .inner
            .recommend(&request)
            .map_err(|e| request_error(&e))?;
        Ok(to_js(&response))
    }

    /// The bundle's manifest.
    #[wasm_bindgen(unchecked_return_type = "Manifest")]
    pub fn manifest(&self) -> JsValue {
        to_js(self.inner.manifest())
    }

    /// Number of items in the model's catalog.
    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> usize {
        self.inner.model().item_ids().len()
    }
}
