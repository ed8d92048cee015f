//! JSON Lines: one JSON object per line, columns are keys.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value};

use super::mapping::Fields;
use super::reject::{RejectReason, Rejection};
use super::{for_each_line, Visit};

struct JsonRow<'a>(&'a Map<String, Value>);

impl Fields for JsonRow<'_> {
    /// Strings as they are, numbers and booleans as JSON writes them, arrays and objects as JSON text.
    fn get(&self, column: &str) -> Result<Option<Cow<'_, str>>, Rejection> {
        Ok(match self.0.get(column) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(Cow::Borrowed(s)),
            Some(other) => Some(Cow::Owned(other.to_string())),
        })
    }
}

pub(super) fn for_each_row(path: &Path, what: &str, visit: &mut Visit<'_>) -> Result<()> {
    for_each_line(path, what, |line, text| {
        let row = text.and_then(|text| match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(Rejection::new(
                RejectReason::Malformed,
                "",
                "not a JSON object",
            )),
            Err(e) => Err(Rejection::new(RejectReason::Malformed, "", &e.to_string())),
        });
        match row {
            Ok(object) => visit(line, Ok(&JsonRow(&object))),
            Err(rejection) => visit(line, Err(rejection)),
        }
    })
}
