//! Request and response types shared by every front end (native, JS, worker), and the one
//! parser ([`RecommendRequest::from_json`]) that all of them use, so that every front end accepts
//! the same requests and reports the same error codes and fields.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::RequestError;

/// Largest `k` a request may ask for.
pub const MAX_K: usize = 200;
/// Most history items (or events) a request may carry, and most events a [`crate::Session`]
/// keeps; older ones matter little and cost time.
pub const MAX_HISTORY: usize = 200;
/// Largest request body, in bytes, any front end accepts.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Most category names one request may filter on.
pub const MAX_FILTER_CATEGORIES: usize = 100;
/// Most item ids one request may exclude.
pub const MAX_EXCLUDE: usize = 1000;
/// Longest `slot` name and `context.page`, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most history items named in one item's explanation (the strongest contributors).
pub const MAX_EXPLAIN: usize = 3;

fn default_k() -> usize {
    20
}

/// What the user did with an item. Co-visitation scoring weighs each event by its type (see
/// [`crate::covisit::CovisitParams::event_weights`]): a cart or purchase says more than a view.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    #[default]
    View,
    Click,
    Cart,
    Purchase,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Click => "click",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
        }
    }
}

/// One recent event: `{"id": "123", "type": "cart", "time": 1764432000000}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The item's id.
    pub id: String,
    /// `view` (default), `click`, `cart` or `purchase`.
    #[serde(rename = "type", default)]
    pub kind: EventType,
    /// When it happened, in milliseconds since the Unix epoch (optional). Within one request
    /// (or session) times must not go backwards: events are listed oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

impl Event {
    pub fn view(id: impl Into<String>) -> Self {
        Event {
            id: id.into(),
            kind: EventType::View,
            time: None,
        }
    }

    /// Parses and validates one event from JSON (what `Session.track` receives).
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        parse_object(
            body,
            "an event such as {\"id\": \"123\", \"type\": \"view\"}",
        )
    }
}

/// An inclusive price range; either end may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Restrictions on what may be recommended. Category, price and availability filters need a
/// bundle with a catalog (`unsupported_filter` otherwise); `exclude` works with any bundle.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Only items in one of these categories or below them (`electronics` matches
    /// `electronics.smartphone`). A category the catalog does not know is an `unknown_value` error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Only items whose catalog price lies in this range; items without a price are left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceRange>,
    /// Leave out items the catalog marks unavailable (items without availability data are kept).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub available_only: bool,
    /// Never recommend these item ids (ids the model does not know are allowed and change nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self == &Filters::default()
    }

    /// Whether any filter needs the catalog.
    pub fn needs_catalog(&self) -> bool {
        self.categories.is_some() || self.price.is_some() || self.available_only
    }
}

/// The kind of device asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Other,
}

/// Where and when the request is made. Validated and echoed in the response (for logging and
/// attribution); the co-visitation model does not rank by it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The page type or path, e.g. `product`, `cart`, `/p/123`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Request time, milliseconds since the Unix epoch. Event times may not lie after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

/// `POST /v1/recommend` and `Engine.recommend`. Give the session as `history` (item ids) or as
/// `events` (typed, optionally timed), not both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendRequest {
    /// Which placement asks (e.g. `pdp_similar`, `cart_addons`); echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// Item ids the user interacted with in this session, oldest first (each counts as a view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<String>>,
    /// The session's recent events, oldest first, weighted by type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// How many items to return, 1..=200 (default 20).
    #[serde(default = "default_k")]
    pub k: usize,
    /// Also return items already in the session (re-views). Off by default: shops rarely want to
    /// show what the user just looked at. Offline evaluation turns it on, as the standard protocol ranks every item.
    #[serde(default)]
    pub include_seen: bool,
    #[serde(default, skip_serializing_if = "Filters::is_empty")]
    pub filters: Filters,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

impl Default for RecommendRequest {
    fn default() -> Self {
        RecommendRequest {
            slot: None,
            history: None,
            events: None,
            k: default_k(),
            include_seen: false,
            filters: Filters::default(),
            context: None,
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> RequestError {
    RequestError::InvalidField {
        field: field.into(),
        message: message.into(),
    }
}

/// The key a field-level serde error is about: its path ends at the struct or table holding the
/// field (`.` at the top), so `name` is joined on unless the path already ends with it. One
/// function for requests, strategy files and strategy state.
pub(crate) fn field_path(path: &str, name: &str) -> String {
    if path == "." {
        name.to_string()
    } else if path == name || path.ends_with(&format!(".{name}")) {
        path.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// serde_json's syntax errors, with the ones that do not say what is wrong explained: a `\u`
/// escape of half a UTF-16 surrogate pair reads as "unexpected end of hex escape".
fn explain_syntax_error(message: String) -> String {
    if message.contains("hex escape") || message.contains("surrogate") {
        let at = message.split_once(" at line ").map_or("", |(_, at)| at);
        return format!(
            "a \\u escape at line {at} is half of a UTF-16 surrogate pair (\\uD800-\\uDFFF) without \
             the other half; JSON strings must be valid Unicode"
        );
    }
    message
}

/// Parses a JSON object into `T`, naming the field at fault (`filters.price.min`, `events[2].type`).
fn parse_object<T: DeserializeOwned>(
    body: &[u8],
    example: &'static str,
) -> Result<T, RequestError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge {
            size: body.len(),
            limit: MAX_REQUEST_BYTES,
        });
    }
    // serde would also read a struct from a JSON array; a request is an object, nothing else.
    let found = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        Some(b'-' | b'0'..=b'9') => Some("a number"),
        Some(_) => None, // not JSON at all: the parser names the problem
    };
    if let Some(found) = found {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => RequestError::NotAnObject { found, example },
                Err(e) => RequestError::InvalidJson {
                    message: e.to_string(),
                },
            },
        );
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if !inner.is_data() {
            return RequestError::InvalidJson {
                message: explain_syntax_error(message),
            };
        }
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        let join = |name: &str| field_path(&path, name);
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
            let expected = tail
                .strip_prefix(", expected one of ")
                .or_else(|| tail.strip_prefix(", expected "))
                .unwrap_or("no fields")
                .to_string();
            return RequestError::UnknownField {
                field: join(name),
                expected,
            };
        }
        // serde's "missing field `x`" is reported at the parent path.
        if let Some(rest) = message.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            return invalid(join(name), "is required");
        }
        if let Some(rest) = message.strip_prefix("duplicate field `") {
            let name = rest.split('`').next().unwrap_or_default();
            return invalid(join(name), "appears more than once in the object");
        }
        invalid(path, message)
    })?;
    // One JSON value and nothing after it (whitespace aside): `{...} xyz` is not a request.
    de.end().map_err(|e| RequestError::InvalidJson {
        message: format!("{e}: the body must hold one JSON object and nothing after it"),
    })?;
    Ok(parsed)
}

impl RecommendRequest {
    /// A plain request: these item ids as the history, `k` items.
    pub fn from_history(history: Vec<String>, k: usize) -> Self {
        RecommendRequest {
            history: Some(history),
            k,
            ..RecommendRequest::default()
        }
    }

    /// Parses and validates a JSON request body, naming the field at fault on error.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let request = Self::parse_unvalidated(body)?;
        request.validate()?;
        Ok(request)
    }

    /// Parses a JSON request body (types, unknown fields) without [`Self::validate`].
    pub(crate) fn parse_unvalidated(body: &[u8]) -> Result<Self, RequestError> {
        parse_object(body, "{\"history\": [\"123\"], \"k\": 20}")
    }

    /// The session as (item id, event type), oldest first, whichever form the request used.
    pub fn session(&self) -> Vec<(&str, EventType)> {
        session_entries(&self.history, &self.events)
    }

    /// Checks what the types alone do not: ranges, sizes, orderings, names.
    pub fn validate(&self) -> Result<(), RequestError> {
        check_k(self.k)?;
        check_session(&self.history, &self.events, true, self.context.as_ref())?;
        check_slot_and_context(self.slot.as_deref(), self.context.as_ref())?;
        self.filters.validate()
    }
}

fn session_entries<'a>(
    history: &'a Option<Vec<String>>,
    events: &'a Option<Vec<Event>>,
) -> Vec<(&'a str, EventType)> {
    match (history, events) {
        (Some(history), _) => history
            .iter()
            .map(|id| (id.as_str(), EventType::View))
            .collect(),
        (None, Some(events)) => events.iter().map(|e| (e.id.as_str(), e.kind)).collect(),
        (None, None) => Vec::new(),
    }
}

/// A session given as `history` or `events` (not both; `required`: one of them), within
/// [`MAX_HISTORY`], event times in order and not after `context.time`.
fn check_session(
    history: &Option<Vec<String>>,
    events: &Option<Vec<Event>>,
    required: bool,
    context: Option<&Context>,
) -> Result<(), RequestError> {
    let (field, len) = match (history, events) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "events",
                "give the session either as `history` or as `events`, not both",
            ))
        }
        (None, None) if required => {
            return Err(invalid(
                "history",
                "is required (or give the session as `events`)",
            ))
        }
        (None, None) => ("history", 0),
        (Some(h), None) => ("history", h.len()),
        (None, Some(e)) => ("events", e.len()),
    };
    if len > MAX_HISTORY {
        return Err(invalid(
            field,
            format!("has {len} items; send at most the {MAX_HISTORY} most recent"),
        ));
    }
    if let Some(events) = events {
        check_event_times(events, context.and_then(|c| c.time))?;
    }
    Ok(())
}

fn check_slot_and_context(
    slot: Option<&str>,
    context: Option<&Context>,
) -> Result<(), RequestError> {
    if let Some(slot) = slot {
        check_name("slot", slot)?;
    }
    if let Some(page) = context.and_then(|c| c.page.as_ref()) {
        if page.len() > MAX_NAME_BYTES {
            return Err(invalid(
                "context.page",
                format!(
                    "is {} bytes long; the limit is {MAX_NAME_BYTES}",
                    page.len()
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /v1/predict` and `Engine.predict`: how likely the user is to click, add to cart and
/// buy each of `items`, after the session (which may be empty: a new visitor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// The items to score, 1..=200 (e.g. the tiles of a page).
    pub items: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

impl PredictRequest {
    pub fn new(history: Vec<String>, items: Vec<String>) -> Self {
        PredictRequest {
            slot: None,
            history: Some(history),
            events: None,
            items,
            context: None,
        }
    }

    /// Parses and validates a JSON request body, naming the field at fault on error.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let request: Self = parse_object(
            body,
            "{\"history\": [\"123\"], \"items\": [\"456\", \"789\"]}",
        )?;
        request.validate()?;
        Ok(request)
    }

    /// The session as (item id, event type), oldest first.
    pub fn session(&self) -> Vec<(&str, EventType)> {
        session_entries(&self.history, &self.events)
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        check_session(&self.history, &self.events, false, self.context.as_ref())?;
        check_slot_and_context(self.slot.as_deref(), self.context.as_ref())?;
        if self.items.is_empty() || self.items.len() > MAX_K {
            return Err(invalid(
                "items",
                format!("has {} ids; give 1 to {MAX_K}", self.items.len()),
            ));
        }
        if let Some(i) = self.items.iter().position(String::is_empty) {
            return Err(invalid(format!("items[{i}]"), "is empty"));
        }
        Ok(())
    }
}

/// One item's conversion probabilities. `cart <= click` and `purchase <= cart` always hold:
/// each is the product of the funnel steps before it (ESMM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub id: String,
    pub click: f32,
    pub cart: f32,
    pub purchase: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// One per known item of the request's `items`, in request order.
    pub predictions: Vec<Prediction>,
    /// Session entries the model does not know (they did not affect the predictions).
    pub ignored: Vec<IgnoredItem>,
    /// Entries of `items` the model does not know (`position` indexes `items`): no prediction.
    pub unknown_items: Vec<IgnoredItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

/// `POST /v1/similar` and `Engine.similar`: items like one item (a product page's "similar
/// items", a cold-start shelf) or like a text (semantic search, a shop assistant's intent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarRequest {
    /// Which placement asks; echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The item's id (give `item` or `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// A text: items whose text is most like it (needs item text vectors and their encoder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How many items to return, 1..=200 (default 20). The item itself is never returned.
    #[serde(default = "default_k")]
    pub k: usize,
    #[serde(default, skip_serializing_if = "Filters::is_empty")]
    pub filters: Filters,
}

impl SimilarRequest {
    pub fn new(item: impl Into<String>, k: usize) -> Self {
        SimilarRequest {
            slot: None,
            item: Some(item.into()),
            text: None,
            k,
            filters: Filters::default(),
        }
    }

    /// Items like a text.
    pub fn by_text(text: impl Into<String>, k: usize) -> Self {
        SimilarRequest {
            item: None,
            text: Some(text.into()),
            ..Self::new("", k)
        }
    }

    /// Parses and validates a JSON request body, naming the field at fault on error.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let request: Self = parse_object(body, "{\"item\": \"123\", \"k\": 20}")?;
        request.validate()?;
        Ok(request)
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        check_k(self.k)?;
        match (&self.item, &self.text) {
            (Some(item), None) if item.is_empty() => {
                return Err(invalid("item", "is empty; give an item id"))
            }
            (None, Some(text)) => check_text("text", text)?,
            (Some(_), None) => {}
            (Some(_), Some(_)) => {
                return Err(invalid("text", "give `item` or `text`, not both"));
            }
            (None, None) => return Err(invalid("item", "is required (or give `text`)")),
        }
        if let Some(slot) = &self.slot {
            check_name("slot", slot)?;
        }
        self.filters.validate()
    }
}

/// One item of a [`SimilarResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarItem {
    pub id: String,
    /// `model`: cosine similarity of the model's item representations (−1..=1). `covisit`: the
    /// co-visitation weight.
    pub score: f32,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The request's item or text, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Most similar first; fewer than `k` when the model knows fewer similar items.
    pub items: Vec<SimilarItem>,
}

/// Most texts in one `embed` request (one forward pass over batches of similar length).
pub const MAX_EMBED_TEXTS: usize = 64;
/// Longest text, in bytes (the encoder reads its first `max_len` tokens anyway).
pub const MAX_TEXT_BYTES: usize = 4096;

fn check_text(field: &str, text: &str) -> Result<(), RequestError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(invalid(
            field,
            format!(
                "is {} bytes; the limit is {MAX_TEXT_BYTES} (the encoder reads only its first tokens)",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// `POST /v1/embed` and `Engine.embed`: texts to sentence vectors, with the text encoder the
/// engine was given (the one its item text vectors come from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    /// 1 to [`MAX_EMBED_TEXTS`] texts, each at most [`MAX_TEXT_BYTES`] bytes (an empty text is
    /// embedded too).
    pub texts: Vec<String>,
}

impl EmbedRequest {
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let request: Self = parse_object(body, "{\"texts\": [\"red summer dress\"]}")?;
        request.validate()?;
        Ok(request)
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        if !(1..=MAX_EMBED_TEXTS).contains(&self.texts.len()) {
            return Err(invalid(
                "texts",
                format!(
                    "holds {} texts; give 1 to {MAX_EMBED_TEXTS}",
                    self.texts.len()
                ),
            ));
        }
        for (i, t) in self.texts.iter().enumerate() {
            check_text(&format!("texts[{i}]"), t)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    /// Values per vector.
    pub dimension: usize,
    /// One unit-length vector per text, in order.
    pub vectors: Vec<Vec<f32>>,
}

fn check_k(k: usize) -> Result<(), RequestError> {
    if !(1..=MAX_K).contains(&k) {
        return Err(invalid(
            "k",
            format!("{k} is out of range; k must be between 1 and {MAX_K}"),
        ));
    }
    Ok(())
}

/// Event times, where given, must not go backwards nor lie after the request's own time.
pub(crate) fn check_event_times(events: &[Event], now: Option<u64>) -> Result<(), RequestError> {
    let mut last: Option<(usize, u64)> = None;
    for (i, e) in events.iter().enumerate() {
        let Some(t) = e.time else { continue };
        if let Some((j, before)) = last {
            if t < before {
                return Err(invalid(
                    format!("events[{i}].time"),
                    format!(
                        "{t} is earlier than events[{j}].time {before}; list events oldest first"
                    ),
                ));
            }
        }
        if let Some(now) = now {
            if t > now {
                return Err(invalid(
                    format!("events[{i}].time"),
                    format!("{t} lies after context.time {now}"),
                ));
            }
        }
        last = Some((i, t));
    }
    Ok(())
}

fn check_name(field: &str, name: &str) -> Result<(), RequestError> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(invalid(
            field,
            format!("must be 1 to {MAX_NAME_BYTES} bytes long"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.:/".contains(*c)))
    {
        return Err(invalid(
            field,
            format!("contains {c:?}; use letters, digits and _ - . : / only"),
        ));
    }
    Ok(())
}

impl Filters {
    pub(crate) fn validate(&self) -> Result<(), RequestError> {
        if let Some(categories) = &self.categories {
            if categories.is_empty() {
                return Err(invalid(
                    "filters.categories",
                    "is empty; name at least one category or leave the filter out",
                ));
            }
            if categories.len() > MAX_FILTER_CATEGORIES {
                return Err(invalid(
                    "filters.categories",
                    format!(
                        "has {} entries; the limit is {MAX_FILTER_CATEGORIES}",
                        categories.len()
                    ),
                ));
            }
            if let Some(i) = categories.iter().position(String::is_empty) {
                return Err(invalid(format!("filters.categories[{i}]"), "is empty"));
            }
        }
        if let Some(price) = &self.price {
            if price.min.is_none() && price.max.is_none() {
                return Err(invalid("filters.price", "needs `min`, `max` or both"));
            }
            for (name, value) in [("min", price.min), ("max", price.max)] {
                if let Some(v) = value {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(invalid(
                            format!("filters.price.{name}"),
                            format!("{v} is not a price; use a number >= 0"),
                        ));
                    }
                }
            }
            if let (Some(min), Some(max)) = (price.min, price.max) {
                if min > max {
                    return Err(invalid(
                        "filters.price",
                        format!("min {min} is above max {max}"),
                    ));
                }
            }
        }
        if self.exclude.len() > MAX_EXCLUDE {
            return Err(invalid(
                "filters.exclude",
                format!("has {} ids; the limit is {MAX_EXCLUDE}", self.exclude.len()),
            ));
        }
        Ok(())
    }
}

/// Which signal put an item in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Co-visited with items in the history.
    Covisit,
    /// Popularity fallback: too little history signal to fill the slot.
    Popular,
    /// Ranked by the transformer (retrieved over the whole catalog or co-visited, then
    /// re-scored by the model).
    Model,
    /// Its text is like the session items' (or the query's): the cosine of text vectors. The
    /// path of items with no behaviour data yet.
    Text,
}

/// How much one session item added to a recommended item's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The session item (a `history` id or an event's `id`).
    pub id: String,
    /// Its share of the score: co-visitation weight × recency × event-type weight, summed over
    /// every time the item occurs in the session.
    pub contribution: f32,
}

/// Why an item was recommended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The signal: `covisit` (the session items in `because` drove it), `model` or `popular`.
    pub signal: Source,
    /// For `covisit`: the strongest contributing session items (at most [`MAX_EXPLAIN`]),
    /// largest contribution first. For `model`: the session items most similar to the item
    /// (cosine of the model's item representations, positive only), most similar first.
    /// Empty for `popular`.
    pub because: Vec<Contribution>,
    /// For `popular`: the item's rank in the catalog's popularity order (1 = most popular).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity_rank: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedItem {
    pub id: String,
    pub score: f32,
    pub source: Source,
    pub explanation: Explanation,
}

/// A session entry the engine could not use. Reported, never silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnoredItem {
    /// Position in the request's `history` (or `events`).
    pub position: usize,
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendResponse {
    /// The request's `slot`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    pub items: Vec<RecommendedItem>,
    /// Session items not in the model's catalog (new items, typos); they did not affect the ranking.
    pub ignored: Vec<IgnoredItem>,
    /// The request's `context`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

/// What the engine knows about one item: `Engine::item`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemInfo {
    pub id: String,
    /// Place in the popularity order (1 = most popular).
    pub popularity_rank: u32,
    /// Catalog attributes, where the bundle has a catalog and knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

/// Most slots one decision may fill.
pub const MAX_DECIDE_SLOTS: usize = 10;

/// `Engine::decide`: fill the page's `slots` (names declared by the strategy file) for a
/// session, as `recommend` takes it (`history` or `events`, or neither for a new visitor).
///
/// `seed` makes the decision's random draws (exploration, offers) reproducible: the same
/// request, state, strategy and seed give the same decision. Without it the seed is the stable
/// hash of the request itself (its canonical JSON), so an identical request is decided
/// identically; a front end that wants fresh exploration per page view passes a fresh seed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// The slots to fill, in page order (earlier slots take items first).
    pub slots: Vec<String>,
    /// The user id: experiment bucketing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The offer learners' segment (e.g. `mobile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

impl DecideRequest {
    /// Parses and validates a JSON request body, naming the field at fault on error.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let request: Self = parse_object(
            body,
            "{\"history\": [\"123\"], \"slots\": [\"home_top\"], \"user\": \"u1\"}",
        )?;
        request.validate()?;
        Ok(request)
    }

    /// The session as (item id, event type), oldest first.
    pub fn session(&self) -> Vec<(&str, EventType)> {
        session_entries(&self.history, &self.events)
    }

    pub fn validate(&self) -> Result<(), RequestError> {
        check_session(&self.history, &self.events, false, self.context.as_ref())?;
        check_slot_and_context(None, self.context.as_ref())?;
        if self.slots.is_empty() || self.slots.len() > MAX_DECIDE_SLOTS {
            return Err(invalid(
                "slots",
                format!(
                    "has {} names; give 1 to {MAX_DECIDE_SLOTS}",
                    self.slots.len()
                ),
            ));
        }
        for (i, slot) in self.slots.iter().enumerate() {
            check_name(&format!("slots[{i}]"), slot)?;
            if self.slots[..i].contains(slot) {
                return Err(invalid(
                    format!("slots[{i}]"),
                    format!("`{slot}` is listed twice"),
                ));
            }
        }
        if let Some(user) = &self.user {
            if user.is_empty() || user.len() > MAX_NAME_BYTES {
                return Err(invalid(
                    "user",
                    format!("must be 1 to {MAX_NAME_BYTES} bytes long"),
                ));
            }
        }
        if let Some(segment) = &self.segment {
            check_name("segment", segment)?;
        }
        Ok(())
    }
}

/// Why one decided item is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionExplanation {
    /// The signal that proposed it; absent for a pin (placed by the strategy, not a signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Source>,
    /// The session items behind the signal, strongest first.
    pub because: Vec<Contribution>,
    /// The rules that moved it: `pinned`, `boosted:<category>`, `capped` (a better item was
    /// left out by the category cap), `explored` (drawn by exploration, not the best remaining).
    pub rules: Vec<String>,
}

/// One item of a decided slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecidedItem {
    pub id: String,
    /// 1 = first.
    pub position: usize,
    /// The slot objective's value: the p(click) proxy 1 / (1 + rank in the engine's ranking),
    /// times price × margin rate for `margin`, times the boosts that applied; 0 for a pin.
    pub score: f64,
    /// The probability that this policy puts this item at this position, given the earlier
    /// positions (1 for a pin).
    pub propensity: f64,
    pub explanation: DecisionExplanation,
}

/// The offer chosen for a slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferDecision {
    pub group: String,
    pub arm: String,
    /// The probability the learner chose this arm.
    pub propensity: f64,
}

/// One filled slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotDecision {
    pub slot: String,
    pub items: Vec<DecidedItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferDecision>,
}

/// `Engine::decide`'s answer: what to show in each slot, and everything an outcome log and an
/// off-policy evaluation need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Stable hex id: a hash of the seed, the request, the strategy version and the bundle.
    pub decision_id: String,
    pub strategy_version: String,
    /// The bundle's `payload_sha256`.
    pub bundle: String,
    /// The experiment arm (a variant or `holdout`); absent without an experiment or a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// The seed the draws used (given or derived from the request).
    pub seed: u64,
    pub slots: Vec<SlotDecision>,
    /// Session items the model does not know.
    pub ignored: Vec<IgnoredItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> RequestError {
        RecommendRequest::from_json(body.as_bytes()).unwrap_err()
    }

    fn at(body: &str) -> (&'static str, String) {
        let e = err(body);
        (e.code(), e.field().unwrap_or("-").to_string())
    }

    #[test]
    fn one_json_object_and_nothing_after_it() {
        let e = err(r#"{"history": ["21115"]} xyz"#);
        assert_eq!(e.code(), "invalid_json");
        assert!(e.to_string().contains("nothing after it"), "{e}");
        let e = err(r#"{"history": ["1"]}{"history": ["2"]}"#);
        assert_eq!(e.code(), "invalid_json");
        assert!(RecommendRequest::from_json(b"{\"history\": [\"1\"]} \n\t ").is_ok());
    }

    #[test]
    fn a_duplicate_key_is_named() {
        assert_eq!(
            at(r#"{"history": ["1"], "history": ["2"]}"#),
            ("invalid_field", "history".to_string())
        );
        assert_eq!(
            at(r#"{"history": ["1"], "filters": {"price": {"min": 1, "min": 2}}}"#),
            ("invalid_field", "filters.price.min".to_string())
        );
    }

    #[test]
    fn a_lone_surrogate_is_explained() {
        for body in [r#"{"history": ["\ud800"]}"#, r#"{"history": ["\udc00x"]}"#] {
            let e = err(body);
            assert_eq!(e.code(), "invalid_json", "{body}");
            assert!(e.to_string().contains("surrogate"), "{body}: {e}");
        }
    }

    #[test]
    fn parses_defaults() {
        let r = RecommendRequest::from_json(br#"{"history": ["1", "2"]}"#).unwrap();
        assert_eq!(r.k, 20);
        assert!(!r.include_seen);
        assert_eq!(
            r.session(),
            [("1", EventType::View), ("2", EventType::View)]
        );
        assert!(r.filters.is_empty());
    }

    #[test]
    fn parses_everything() {
        let r = RecommendRequest::from_json(
            br#"{"slot": "pdp_similar", "events": [{"id": "1", "type": "cart", "time": 5}, {"id": "2"}],
                "k": 3, "filters": {"categories": ["a"], "price": {"max": 10}, "available_only": true, "exclude": ["9"]},
                "context": {"page": "product", "device": "mobile", "time": 6}}"#,
        )
        .unwrap();
        assert_eq!(r.slot.as_deref(), Some("pdp_similar"));
        assert_eq!(
            r.session(),
            [("1", EventType::Cart), ("2", EventType::View)]
        );
        assert_eq!(
            r.filters.price,
            Some(PriceRange {
                min: None,
                max: Some(10.0)
            })
        );
        assert!(r.filters.needs_catalog());
        assert_eq!(r.context.unwrap().device, Some(Device::Mobile));
    }

    #[test]
    fn names_the_problem() {
        assert_eq!(err("{").code(), "invalid_json");
        assert_eq!(err("[1,2").code(), "invalid_json");
        assert_eq!(err("").code(), "invalid_json");
        assert_eq!(err(r#"[["1"], 20]"#).code(), "invalid_request");
        assert_eq!(err("null").code(), "invalid_request");
        assert_eq!(
            err(" 42").to_string().split(", found ").nth(1),
            Some("a number")
        );
        assert_eq!(
            at(r#"{"history": ["1", 2]}"#),
            ("invalid_field", "history[1]".into())
        );
        assert_eq!(
            at(r#"{"history": [], "k": "5"}"#),
            ("invalid_field", "k".into())
        );
        assert_eq!(err(r#"{"history": [], "k": -1}"#).field(), Some("k"));
        let e = err(r#"{"history": [], "k": 0}"#);
        assert!(e.to_string().contains("out of range"), "{e}");
        assert_eq!(err(r#"{"history": [], "k": 201}"#).field(), Some("k"));
        let e = err(r#"{"history": [], "colour": "red"}"#);
        assert_eq!((e.code(), e.field()), ("unknown_field", Some("colour")));
        assert!(e.to_string().contains("`history`, `events`"), "{e}");
        assert_eq!(at(r#"{"k": 3}"#), ("invalid_field", "history".into()));
        let big = format!(r#"{{"history": ["{}"]}}"#, "x".repeat(MAX_REQUEST_BYTES));
        assert_eq!(err(&big).code(), "body_too_large");
        let long: Vec<String> = (0..=MAX_HISTORY).map(|i| i.to_string()).collect();
        let e = err(&serde_json::json!({ "history": long }).to_string());
        assert_eq!(e.field(), Some("history"));
    }

    #[test]
    fn names_nested_fields() {
        let cases = [
            (
                r#"{"history": [], "events": []}"#,
                "invalid_field",
                "events",
            ),
            (
                r#"{"events": [{"id": "1", "type": "like"}]}"#,
                "invalid_field",
                "events[0].type",
            ),
            (
                r#"{"events": [{"type": "view"}]}"#,
                "invalid_field",
                "events[0].id",
            ),
            (
                r#"{"events": [{"id": "1"}, {"id": 2}]}"#,
                "invalid_field",
                "events[1].id",
            ),
            (
                r#"{"events": [{"id": "1", "when": 3}]}"#,
                "unknown_field",
                "events[0].when",
            ),
            (
                r#"{"events": [{"id": "1", "time": -3}]}"#,
                "invalid_field",
                "events[0].time",
            ),
            (
                r#"{"events": [{"id": "1", "time": 9}, {"id": "2", "time": 8}]}"#,
                "invalid_field",
                "events[1].time",
            ),
            (
                r#"{"events": [{"id": "1", "time": 9}], "context": {"time": 8}}"#,
                "invalid_field",
                "events[0].time",
            ),
            (r#"{"events": "1"}"#, "invalid_field", "events"),
            (
                r#"{"history": [], "filters": {"colour": "red"}}"#,
                "unknown_field",
                "filters.colour",
            ),
            (
                r#"{"history": [], "filters": {"categories": []}}"#,
                "invalid_field",
                "filters.categories",
            ),
            (
                r#"{"history": [], "filters": {"categories": "a"}}"#,
                "invalid_field",
                "filters.categories",
            ),
            (
                r#"{"history": [], "filters": {"categories": ["a", ""]}}"#,
                "invalid_field",
                "filters.categories[1]",
            ),
            (
                r#"{"history": [], "filters": {"price": {}}}"#,
                "invalid_field",
                "filters.price",
            ),
            (
                r#"{"history": [], "filters": {"price": {"min": -1}}}"#,
                "invalid_field",
                "filters.price.min",
            ),
            (
                r#"{"history": [], "filters": {"price": {"max": "5"}}}"#,
                "invalid_field",
                "filters.price.max",
            ),
            (
                r#"{"history": [], "filters": {"price": {"min": 5, "max": 4}}}"#,
                "invalid_field",
                "filters.price",
            ),
            (
                r#"{"history": [], "filters": {"price": {"lo": 5}}}"#,
                "unknown_field",
                "filters.price.lo",
            ),
            (
                r#"{"history": [], "filters": {"available_only": 1}}"#,
                "invalid_field",
                "filters.available_only",
            ),
            (
                r#"{"history": [], "filters": {"exclude": [1]}}"#,
                "invalid_field",
                "filters.exclude[0]",
            ),
            (r#"{"history": [], "slot": ""}"#, "invalid_field", "slot"),
            (r#"{"history": [], "slot": "a b"}"#, "invalid_field", "slot"),
            (
                r#"{"history": [], "context": {"device": "fridge"}}"#,
                "invalid_field",
                "context.device",
            ),
            (
                r#"{"history": [], "context": {"user": "u1"}}"#,
                "unknown_field",
                "context.user",
            ),
        ];
        for (body, code, field) in cases {
            assert_eq!(at(body), (code, field.to_string()), "{body}");
        }
    }

    #[test]
    fn events_parse_alone() {
        let e = Event::from_json(br#"{"id": "5", "type": "purchase", "time": 7}"#).unwrap();
        assert_eq!((e.kind, e.time), (EventType::Purchase, Some(7)));
        assert_eq!(
            Event::from_json(br#"{"id": "5"}"#).unwrap(),
            Event::view("5")
        );
        let e = Event::from_json(br#"{"id": "5", "type": "like"}"#).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("type")));
        assert_eq!(
            Event::from_json(b"[]").unwrap_err().code(),
            "invalid_request"
        );
    }
}
