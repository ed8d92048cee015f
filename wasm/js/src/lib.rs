//! JS bindings: a thin layer that converts between JS values and the engine's types.
//! Every error is thrown as a JS `Error` with a stable `code` (and `field` where one is at fault).

use edgerec::{Event, PredictRequest, RecommendRequest, RequestError, SimilarRequest};
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod text;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** What the user did with an item. Co-visitation weighs a cart or purchase above a view. */
export type EventType = "view" | "click" | "cart" | "purchase";

/** One session event, e.g. `{ id: "123", type: "cart", time: Date.now() }`. */
export interface Event {
  /** The item's id. */
  id: string;
  /** Default "view". */
  type?: EventType;
  /** Milliseconds since the Unix epoch. Events are listed oldest first; times may not go backwards. */
  time?: number;
}

/**
 * What may be recommended. `categories`, `price` and `available_only` need a bundle with a catalog
 * (`engine.hasCatalog`); otherwise they throw `unsupported_filter`. `exclude` works with any bundle.
 */
export interface Filters {
  /**
   * Only items in one of these categories or below one (`"electronics"` matches
   * `"electronics.smartphone"`). A name that is neither a category nor a level above one throws
   * `unknown_value` with `field` `filters.categories[i]`. See `engine.categories()`.
   */
  categories?: string[];
  /** Only items whose catalog price lies in [min, max] (inclusive); items without a price are left out. */
  price?: { min?: number; max?: number };
  /** Leave out items the catalog marks unavailable (items without availability data are kept). */
  available_only?: boolean;
  /** Never recommend these item ids (at most 1000; unknown ids are fine and change nothing). */
  exclude?: string[];
}

/** Where and when the request is made. Validated and echoed in the response; not used for ranking. */
export interface Context {
  /** Page type or path, e.g. "product", "/cart" (at most 256 bytes). */
  page?: string;
  device?: "desktop" | "mobile" | "tablet" | "other";
  /** Request time, ms since the Unix epoch; event times may not lie after it. */
  time?: number;
}

/**
 * A recommendation request. Give the session as `history` (item ids) or as `events`, not both
 * (for `recommendSession`, neither: the tracked session supplies it).
 */
export interface RecommendRequest {
  /** The placement asking, e.g. "pdp_similar" (letters, digits, `_-.:/`); echoed in the response. */
  slot?: string;
  /** Item ids the user interacted with in this session, oldest first (at most 200); each counts as a view. */
  history?: string[];
  /** The session as typed events, oldest first (at most 200). */
  events?: Event[];
  /** How many items to return, 1..=200. Default 20. */
  k?: number;
  /** Also return items already in the session. Default false. */
  include_seen?: boolean;
  filters?: Filters;
  context?: Context;
}

/** A request for `Engine.recommendSession`: everything but the session itself. */
export type SessionRequest = Omit<RecommendRequest, "history" | "events">;

/** How much one session item added to a recommended item's score. */
export interface Contribution {
  id: string;
  contribution: number;
}

/**
 * Which signal put an item in the list: "covisit" (co-visited with session items), "model" (the
 * transformer of a `sasrec` bundle: retrieved over the whole catalog, re-scored exactly), "text"
 * (its text is like the session items': a bundle with item text vectors, the way in for new items)
 * or "popular" (a popularity fill when the session gives too little signal).
 */
export type Source = "covisit" | "model" | "text" | "popular";

/** Why an item was recommended. */
export interface Explanation {
  signal: Source;
  /**
   * For "covisit": the (at most 3) strongest contributing session items, largest first. For
   * "model": the (at most 3) session items most similar to it (cosine of the model's item
   * vectors, positive only), most similar first. For "text": likewise, by the cosine of the item
   * text vectors. Empty for "popular".
   */
  because: Contribution[];
  /** For "popular": the item's place in the popularity order (1 = most popular). */
  popularity_rank?: number;
}

/**
 * One recommended item, best first. Popular fills rank below every co-visited item (negative
 * scores). A "model" item's score is the transformer's next-item logit (cosine / temperature), or
 * with a hybrid bundle (a V-SKNN session index) the blend of its probability and the neighbours'
 * votes; a "text" item's is the cosine of its text vector to the session's.
 */
export interface RecommendedItem {
  id: string;
  score: number;
  source: Source;
  explanation: Explanation;
}

/**
 * `engine.similar(request)`: items like one item (a product page's "similar items") or like a text
 * (semantic search). Give `item` or `text`, not both.
 */
export type SimilarRequest = {
  /** The placement asking; echoed in the response. */
  slot?: string;
  /** How many items to return, 1..=200. Default 20. The item itself is never returned. */
  k?: number;
  filters?: Filters;
} & (
  | {
      /** The item's id; an id the model does not know throws `unknown_value` (field "item"). */
      item: string;
      text?: never;
    }
  | {
      /**
       * A text (at most 4096 bytes): items whose text is most like it. Needs a bundle with item
       * text vectors and `EngineOptions.textEncoder` (`unsupported_request` otherwise).
       */
      text: string;
      item?: never;
    }
);

export interface SimilarItem {
  id: string;
  /**
   * "model": cosine similarity of the transformer's item vectors; "covisit": co-visitation weight;
   * "text": cosine similarity of the item texts (co-visited items come first, then text ones).
   */
  score: number;
  source: Exclude<Source, "popular">;
}

export interface SimilarResponse {
  slot?: string;
  /** The request's item or text, echoed. */
  item?: string;
  text?: string;
  /** Most similar first; fewer than `k` when the model knows fewer similar items. */
  items: SimilarItem[];
}

/** A session item the engine could not use (e.g. not in the model's catalog). */
export interface IgnoredItem {
  /** Its index in `history` or `events`. */
  position: number;
  id: string;
  reason: "unknown_item";
}

export interface RecommendResponse {
  /** The request's slot, echoed. */
  slot?: string;
  items: RecommendedItem[];
  ignored: IgnoredItem[];
  /** The request's context, echoed. */
  context?: Context;
}

/**
 * `engine.predict(request)`: how likely the user is to click, add to cart and buy each item,
 * after the session (`history` or `events`; neither for a new visitor).
 */
export interface PredictRequest {
  slot?: string;
  history?: string[];
  events?: Event[];
  /** The items to score (1 to 200 ids), e.g. the tiles of a page. */
  items: string[];
  context?: Context;
}

/** One item's probabilities: `purchase <= cart <= click` (each step of the funnel multiplies in). */
export interface Prediction {
  id: string;
  click: number;
  cart: number;
  purchase: number;
}

export interface PredictResponse {
  slot?: string;
  /** One per known item of `items`, in request order. */
  predictions: Prediction[];
  /** Session items the model does not know. */
  ignored: IgnoredItem[];
  /** Entries of `items` the model does not know (`position` indexes `items`): no prediction. */
  unknown_items: IgnoredItem[];
  context?: Context;
}

/** What the model knows about one item (`engine.item(id)`). */
export interface ItemInfo {
  id: string;
  /** Place in the popularity order (1 = most popular). */
  popularity_rank: number;
  /** Catalog attributes, present where the bundle has a catalog that knows them. */
  category?: string;
  price?: number;
  available?: boolean;
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
  sections: { name: string; offset: number; length: number; encoding?: string }[];
}

/**
 * `engine.embed(request)`: texts to sentence vectors with the engine's text encoder (the one its
 * item text vectors come from; `EngineOptions.textEncoder`).
 */
export interface EmbedRequest {
  /** 1 to 64 texts, each at most 4096 bytes; longer texts are cut to the encoder's `maxLen` tokens. */
  texts: string[];
}

export interface EmbedResponse {
  /** Values per vector (384 for MiniLM). */
  dimension: number;
  /** One unit-length vector per text, in order. */
  vectors: number[][];
}

/** Stable error codes. */
export type EdgerecErrorCode =
  | "invalid_json" | "invalid_request" | "invalid_field" | "unknown_field" | "unknown_value"
  | "unsupported_filter" | "unsupported_request" | "internal_error" | "body_too_large"
  | "bad_magic" | "unsupported_version" | "truncated" | "trailing_data" | "checksum_mismatch"
  | "payload_checksum_mismatch" | "invalid_manifest" | "invalid_section" | "unsupported_model"
  | "invalid_header" | "unsigned_bundle" | "bad_signature" | "untrusted_signer" | "invalid_key"
  | "manifest_mismatch" | "out_of_range" | "invalid_options" | "tokenize_error" | "model_error";

/** Options of `new Engine(bytes, options)`. */
export interface EngineOptions {
  /**
   * Hex Ed25519 public key (64 digits, the `.pub` file of `edgerec-train keygen`): only bundles
   * signed by it load; unsigned ones throw `unsigned_bundle`, others `untrusted_signer` or
   * `bad_signature`.
   */
  publicKey?: string;
  /**
   * How a transformer (`sasrec`) bundle computes: "quantized" (default: edgerec's int8 kernels;
   * the same answer, bit for bit, natively, in Node, in browsers and in workerd; least memory) or
   * "dequantized" (candle's f32 ops on weights dequantized at load, as the trainer computes).
   * Ignored for co-visitation bundles.
   */
  compute?: "quantized" | "dequantized";
  /**
   * The bytes of the `text-encoder` bundle that embedded the bundle's item texts: `embed` and
   * `similar({text})` then answer. Checked like the bundle (and against `publicKey`); an encoder
   * other than the one the item vectors name throws `manifest_mismatch`.
   */
  textEncoder?: Uint8Array;
}

/**
 * Errors thrown by the engine are `Error`s (name "EdgerecError") with a stable `code` and, where a
 * request field is at fault, its path in `field` (e.g. "k", "events[2].type", "filters.price.min").
 */
export interface EdgerecError extends Error {
  code: EdgerecErrorCode;
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

/// The JSON text of a JS value that must be an object, or the same error the parser gives.
fn object_json(value: &JsValue, example: &'static str) -> Result<String, JsValue> {
    if !value.is_object() || js_sys::Array::is_array(value) {
        let found = if value.is_null() {
            "null"
        } else if value.is_undefined() {
            "undefined"
        } else if js_sys::Array::is_array(value) {
            "an array"
        } else {
            "a non-object value"
        };
        return Err(request_error(&RequestError::NotAnObject { found, example }));
    }
    // Going through JSON text gives the same validation and messages as the worker's HTTP API.
    js_sys::JSON::stringify(value)
        .map(String::from)
        .map_err(|_| {
            js_error(
                "invalid_json",
                None,
                "the value cannot be serialised to JSON",
            )
        })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EngineOptions {
    public_key: Option<String>,
    compute: Option<String>,
}

/// Constructor options (`undefined` or an object), through JSON text so unknown keys are
/// refused (serde-wasm-bindgen would skip them).
fn parse_options<T: Default + serde::de::DeserializeOwned>(
    options: &JsValue,
    example: &'static str,
) -> Result<T, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(T::default());
    }
    let text = object_json(options, example)?;
    serde_json::from_str(&text).map_err(|e| {
        js_error(
            "invalid_options",
            None,
            &format!("invalid options: {e}; expected {example}"),
        )
    })
}

/// `options.textEncoder` (the bytes of a text-encoder bundle, a `Uint8Array`) if given, and
/// the other options, which are read through JSON (bytes are not).
fn take_text_encoder(options: JsValue) -> Result<(Option<Vec<u8>>, JsValue), JsValue> {
    if !options.is_object() || js_sys::Array::is_array(&options) {
        return Ok((None, options));
    }
    let key = JsValue::from_str("textEncoder");
    let value = js_sys::Reflect::get(&options, &key).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() {
        return Ok((None, options));
    }
    let rest = js_sys::Object::assign(&js_sys::Object::new(), &options.into());
    // A fresh plain object: deleting a property cannot fail.
    let _ = js_sys::Reflect::delete_property(&rest, &key);
    match value.dyn_into::<js_sys::Uint8Array>() {
        Ok(bytes) => Ok((Some(bytes.to_vec()), rest.into())),
        Err(_) => Err(js_error(
            "invalid_options",
            Some("textEncoder"),
            "invalid options: textEncoder must be a Uint8Array (the bytes of a text-encoder bundle)",
        )),
    }
}

/// The `compute` option: `quantized` (the default: int8 kernels, the same bits on every
/// platform) or `dequantized` (candle's f32 ops, as the trainer computes).
fn parse_compute(value: Option<&str>, example: &'static str) -> Result<edgerec::Compute, JsValue> {
    match value {
        None | Some("quantized") => Ok(edgerec::Compute::Quantized),
        Some("dequantized") => Ok(edgerec::Compute::Dequantized),
        Some(other) => Err(js_error(
            "invalid_options",
            Some("compute"),
            &format!("invalid options: compute `{other}`; expected {example}"),
        )),
    }
}

fn bundle_error(e: edgerec::BundleError) -> JsValue {
    js_error(e.code(), None, &e.to_string())
}

/// One engine call from JS: the value to JSON (so every front end parses alike), parse and
/// validate (errors name the field), run, and the answer back as a JS value.
fn answer<Q, A: Serialize>(
    request: &JsValue,
    example: &'static str,
    parse: fn(&[u8]) -> Result<Q, RequestError>,
    run: impl FnOnce(&Q) -> Result<A, RequestError>,
) -> Result<JsValue, JsValue> {
    let body = object_json(request, example)?;
    let request = parse(body.as_bytes()).map_err(|e| request_error(&e))?;
    let response = run(&request).map_err(|e| request_error(&e))?;
    Ok(to_js(&response))
}

const REQUEST_EXAMPLE: &str = "{\"history\": [\"123\"], \"k\": 20}";

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
    /// `unsupported_version`, `truncated`, `checksum_mismatch`, ...) if it is not a valid bundle,
    /// and, with `options.publicKey`, if it is not signed by that key.
    #[wasm_bindgen(constructor)]
    pub fn new(
        bundle: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "EngineOptions")] options: Option<JsValue>,
    ) -> Result<Engine, JsValue> {
        const EXAMPLE: &str = "{\"publicKey\": \"<64 hex digits>\", \"compute\": \"quantized\" | \"dequantized\", \"textEncoder\": Uint8Array}";
        // Optional in TypeScript (`options?`): left out, or null, is no options.
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let (encoder_bytes, options) = take_text_encoder(options)?;
        let parsed: EngineOptions = parse_options(&options, EXAMPLE)?;
        let trusted = parsed
            .public_key
            .map(|k| edgerec::TrustedKey::from_hex(&k))
            .transpose()
            .map_err(bundle_error)?;
        let compute = parse_compute(parsed.compute.as_deref(), EXAMPLE)?;
        let load = edgerec::LoadOptions { trusted, compute };
        let mut inner = edgerec::Engine::load(bundle, &load).map_err(bundle_error)?;
        if let Some(bytes) = encoder_bytes {
            let embedder =
                edgerec::TextEmbedder::from_bundle_bytes(&bytes, load.trusted.as_ref(), compute)
                    .map_err(|e| {
                        js_error(e.code(), Some("textEncoder"), &format!("textEncoder: {e}"))
                    })?;
            inner = inner.with_text_encoder(embedder).map_err(|e| {
                js_error(e.code(), Some("textEncoder"), &format!("textEncoder: {e}"))
            })?;
        }
        Ok(Engine { inner })
    }

    /// Sentence vectors of `request.texts` with the engine's text encoder. Throws
    /// `unsupported_request` when the engine was loaded without `textEncoder`.
    #[wasm_bindgen(unchecked_return_type = "EmbedResponse")]
    pub fn embed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EmbedRequest")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        answer(
            &request,
            "{\"texts\": [\"red summer dress\"]}",
            edgerec::EmbedRequest::from_json,
            |r| self.inner.embed(r),
        )
    }

    /// Whether `embed` and `similar({text})` can answer (the engine has a text encoder).
    #[wasm_bindgen(getter, js_name = hasTextEncoder)]
    pub fn has_text_encoder(&self) -> bool {
        self.inner.has_text_encoder()
    }

    /// Whether the bundle's items carry text vectors (text candidates, `similar` by text).
    #[wasm_bindgen(getter, js_name = hasItemText)]
    pub fn has_item_text(&self) -> bool {
        self.inner.has_item_text()
    }

    /// Hex public key of the bundle's signer, or `undefined` if it is unsigned.
    #[wasm_bindgen(getter)]
    pub fn signer(&self) -> Option<String> {
        self.inner.signer().map(str::to_string)
    }

    /// Recommends items for a session. Throws `EdgerecError` naming the bad field.
    #[wasm_bindgen(unchecked_return_type = "RecommendResponse")]
    pub fn recommend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecommendRequest")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        answer(
            &request,
            REQUEST_EXAMPLE,
            RecommendRequest::from_json,
            |r| self.inner.recommend(r),
        )
    }

    /// Recommends for a tracked `Session`: the request carries everything but the session
    /// (no `history`, no `events`). Default request: `{}` (k = 20).
    #[wasm_bindgen(js_name = recommendSession, unchecked_return_type = "RecommendResponse")]
    pub fn recommend_session(
        &self,
        session: &Session,
        #[wasm_bindgen(unchecked_optional_param_type = "SessionRequest")] request: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let body = match request {
            None => "{}".to_string(),
            Some(request) => object_json(&request, "{\"k\": 20}")?,
        };
        let request = session
            .inner
            .request_from_json(body.as_bytes())
            .map_err(|e| request_error(&e))?;
        let response = self
            .inner
            .recommend(&request)
            .map_err(|e| request_error(&e))?;
        Ok(to_js(&response))
    }

    /// Items like `request.item`, most similar first: by the transformer's item vectors for a
    /// `sasrec` bundle, by co-visitation otherwise (then by text); or like `request.text`, by the
    /// item texts' vectors. Throws `EdgerecError` naming the bad field.
    #[wasm_bindgen(unchecked_return_type = "SimilarResponse")]
    pub fn similar(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SimilarRequest")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        answer(
            &request,
            "{\"item\": \"123\", \"k\": 20}",
            SimilarRequest::from_json,
            |r| self.inner.similar(r),
        )
    }

    /// p(click), p(cart), p(purchase) of each item after the session, from the transformer's
    /// conversion heads. Throws `unsupported_request` for a bundle without them.
    #[wasm_bindgen(unchecked_return_type = "PredictResponse")]
    pub fn predict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PredictRequest")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        answer(
            &request,
            "{\"history\": [\"123\"], \"items\": [\"456\"]}",
            PredictRequest::from_json,
            |r| self.inner.predict(r),
        )
    }

    /// The bundle's model: "covisit" (co-visitation lists) or "sasrec" (the transformer).
    #[wasm_bindgen(getter, js_name = modelKind)]
    pub fn model_kind(&self) -> String {
        self.inner.manifest().model_kind.clone()
    }

    /// Whether the bundle has a catalog, i.e. category, price and availability filters work.
    #[wasm_bindgen(getter, js_name = hasCatalog)]
    pub fn has_catalog(&self) -> bool {
        self.inner.catalog().is_some()
    }

    /// What the model knows about an item: `{id, popularity_rank, category?, price?,
    /// available?}`, or `undefined` if the model does not know it.
    #[wasm_bindgen(unchecked_return_type = "ItemInfo | undefined")]
    pub fn item(&self, id: &str) -> JsValue {
        match self.inner.item(id) {
            Some(info) => to_js(&info),
            None => JsValue::UNDEFINED,
        }
    }

    /// The catalog's category paths, sorted (empty without a catalog).
    pub fn categories(&self) -> Vec<String> {
        self.inner
            .catalog()
            .map(|c| c.categories().to_vec())
            .unwrap_or_default()
    }

    /// The bundle's manifest.
    #[wasm_bindgen(unchecked_return_type = "Manifest")]
    pub fn manifest(&self) -> JsValue {
        to_js(self.inner.manifest())
    }

    /// Number of items in the model's catalog.
    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> usize {
        self.inner.items().len()
    }
}

/// The user's current session, kept in memory on the device: `track` events as they happen and
/// `engine.recommendSession(session)` reflects them at once. Keeps the 200 most recent events.
#[wasm_bindgen]
#[derive(Default)]
pub struct Session {
    inner: edgerec::Session,
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session::default()
    }

    /// A session restored from saved events (e.g. `JSON.parse(localStorage.edgerec)`).
    /// Throws `EdgerecError` (`field` e.g. `events[3].type`) if one is invalid.
    #[wasm_bindgen(js_name = fromEvents)]
    pub fn from_events(
        #[wasm_bindgen(unchecked_param_type = "Event[]")] events: JsValue,
    ) -> Result<Session, JsValue> {
        if !js_sys::Array::is_array(&events) {
            return Err(js_error(
                "invalid_field",
                Some("events"),
                "invalid value for `events`: expected an array of events",
            ));
        }
        let mut parsed = Vec::new();
        for (i, event) in js_sys::Array::from(&events).iter().enumerate() {
            let at = |e: RequestError| {
                let field = match e.field() {
                    Some(f) => format!("events[{i}].{f}"),
                    None => format!("events[{i}]"),
                };
                js_error(e.code(), Some(&field), &e.to_string())
            };
            let body = object_json(&event, EVENT_EXAMPLE).map_err(|_| {
                at(RequestError::NotAnObject {
                    found: "a non-object value",
                    example: EVENT_EXAMPLE,
                })
            })?;
            parsed.push(Event::from_json(body.as_bytes()).map_err(at)?);
        }
        edgerec::Session::from_events(parsed)
            .map(|inner| Session { inner })
            .map_err(|e| request_error(&e))
    }

    /// Adds an event (`{id, type?, time?}`). Throws `EdgerecError` if it is invalid (the
    /// session is then unchanged).
    pub fn track(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Event")] event: JsValue,
    ) -> Result<(), JsValue> {
        let body = object_json(&event, EVENT_EXAMPLE)?;
        let event = Event::from_json(body.as_bytes()).map_err(|e| request_error(&e))?;
        self.inner.track(event).map_err(|e| request_error(&e))
    }

    /// The tracked events, oldest first (save them to restore with `Session.fromEvents`).
    #[wasm_bindgen(unchecked_return_type = "Event[]")]
    pub fn events(&self) -> JsValue {
        let events: Vec<&Event> = self.inner.events().collect();
        to_js(&events)
    }

    /// Number of tracked events (at most 200).
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// Forgets every event.
    pub fn clear(&mut self) {
        self.inner.clear();
    }
}

const EVENT_EXAMPLE: &str = "{\"id\": \"123\", \"type\": \"view\"}";
