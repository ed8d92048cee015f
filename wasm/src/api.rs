//! Request and response types shared by every front end (native, JS, worker).

use serde::{Deserialize, Serialize};

use crate::error::RequestError;

/// Largest `k` a request may ask for.
pub const MAX_K: usize = 200;
/// Most history items a request may carry; older ones matter little and cost time.
pub const MAX_HISTORY: usize = 200;
/// Largest request body, in bytes, any front end accepts.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

fn default_k() -> usize {
    20
}

/// `POST /v1/recommend` and `Engine.recommend`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendRequest {
    /// Item ids the user interacted with in this session, oldest first.
    pub history: Vec<String>,
    /// How many items to return, 1..=200 (default 20).
    #[serde(default = "default_k")]
    pub k: usize,
    /// Also return items already in `history` (re-views). Off by default: shops rarely want to
    /// show what the user just looked at. Offline evaluation turns it on, as the standard protocol ranks every item.
    #[serde(default)]
    pub include_seen: bool,
}

const REQUEST_FIELDS: &str = "`history`, `k`, `include_seen`";

impl RecommendRequest {
    /// Parses and validates a JSON request body, naming the field at fault on error.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
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
                    Ok(_) => RequestError::NotAnObject { found },
                    Err(e) => RequestError::InvalidJson {
                        message: e.to_string(),
                    },
                },
            );
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        let request: RecommendRequest = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.to_string();
            if !inner.is_data() {
                return RequestError::InvalidJson { message };
            }
            if let Some(rest) = message.strip_prefix("unknown field `") {
                let name = rest.split('`').next().unwrap_or_default().to_string();
                return RequestError::UnknownField {
                    field: name,
                    expected: REQUEST_FIELDS,
                };
            }
            // serde's "missing field `x`" is reported at the parent path (".").
            if let Some(rest) = message.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or_default().to_string();
                return RequestError::InvalidField {
                    field: name,
                    message: "is required".to_string(),
                };
            }
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            RequestError::InvalidField { field, message }
        })?;
        request.validate()?;
        Ok(request)
    }

    /// Checks value ranges that the types alone do not.
    pub fn validate(&self) -> Result<(), RequestError> {
        if !(1..=MAX_K).contains(&self.k) {
            return Err(RequestError::InvalidField {
                field: "k".to_string(),
                message: format!(
                    "{} is out of range; k must be between 1 and {MAX_K}",
                    self.k
                ),
            });
        }
        if self.history.len() > MAX_HISTORY {
            return Err(RequestError::InvalidField {
                field: "history".to_string(),
                message: format!(
                    "has {} items; send at most the {MAX_HISTORY} most recent",
                    self.history.len()
                ),
            });
        }
        Ok(())
    }
}

/// Why an item was recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Co-visited with items in the history.
    Covisit,
    /// Popularity fallback: too little history signal to fill the slot.
    Popular,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedItem {
    pub id: String,
    pub score: f32,
    pub source: Source,
}

/// A history entry the engine could not use. Reported, never silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnoredItem {
    /// Position in the request's `history`.
    pub position: usize,
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendResponse {
    pub items: Vec<RecommendedItem>,
    /// History items not in the model's catalog (new items, typos); they did not affect the ranking.
    pub ignored: Vec<IgnoredItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> RequestError {
        RecommendRequest::from_json(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_defaults() {
        let r = RecommendRequest::from_json(br#"{"history": ["1", "2"]}"#).unwrap();
        assert_eq!(r.k, 20);
        assert!(!r.include_seen);
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
        let e = err(r#"{"history": ["1", 2]}"#);
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("history[1]")));
        let e = err(r#"{"history": [], "k": "5"}"#);
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("k")));
        let e = err(r#"{"history": [], "k": -1}"#);
        assert_eq!(e.field(), Some("k"));
        let e = err(r#"{"history": [], "k": 0}"#);
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = err(r#"{"history": [], "k": 201}"#);
        assert_eq!(e.field(), Some("k"));
        let e = err(r#"{"history": [], "colour": "red"}"#);
        assert_eq!((e.code(), e.field()), ("unknown_field", Some("colour")));
        let e = err(r#"{"k": 3}"#);
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("history")));
        let big = format!(r#"{{"history": ["{}"]}}"#, "x".repeat(MAX_REQUEST_BYTES));
        assert_eq!(err(&big).code(), "body_too_large");
        let long: Vec<String> = (0..=MAX_HISTORY).map(|i| i.to_string()).collect();
        let e = err(&serde_json::json!({ "history": long }).to_string());
        assert_eq!(e.field(), Some("history"));
    }
}
