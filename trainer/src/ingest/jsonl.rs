//! JSON Lines: one JSON object per line, columns are keys.

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::mapping::Fields;
use super::reject::{RejectReason, Rejection};
use super::{file_bar, Visit};

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
    let (file, bar) = file_bar(path, what)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut bytes = Vec::new();
    let (mut line, mut offset) = (0u64, 0u64);
    loop {
        bytes.clear();
        let n = reader
            .read_until(b'\n', &mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        line += 1;
        offset += n as u64;
        let row = match std::str::from_utf8(&bytes) {
            Err(_) => Err(Rejection::new(
                RejectReason::Encoding,
                "",
                &String::from_utf8_lossy(&bytes),
            )),
            Ok(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(object)) => Ok(object),
                Ok(_) => Err(Rejection::new(
                    RejectReason::Malformed,
                    "",
                    "not a JSON object",
                )),
                Err(e) => Err(Rejection::new(RejectReason::Malformed, "", &e.to_string())),
            },
        };
        match &row {
            Ok(object) => visit(line, Ok(&JsonRow(object)))?,
            Err(rejection) => visit(line, Err(rejection.clone()))?,
        }
        if line.is_multiple_of(4096) {
            bar.set_position(offset);
        }
    }
    bar.finish_and_clear();
    Ok(())
}
