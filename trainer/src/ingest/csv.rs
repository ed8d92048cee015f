//! Delimited text (CSV, TSV), with or without a header line.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;

use anyhow::{bail, Context, Result};
use csv::{ByteRecord, ReaderBuilder};

use super::mapping::Fields;
use super::reject::{RejectReason, Rejection};
use super::{field_text, file_bar, Visit};

struct CsvRow<'a> {
    index: &'a HashMap<String, usize>,
    record: &'a ByteRecord,
}

impl Fields for CsvRow<'_> {
    fn get(&self, column: &str) -> Result<Option<std::borrow::Cow<'_, str>>, Rejection> {
        match self.index.get(column).and_then(|&i| self.record.get(i)) {
            Some(bytes) => field_text(column, bytes),
            None => Ok(None),
        }
    }
}

/// Calls `visit` with every record. Records are read as bytes so that a field that is not UTF-8
/// rejects only its own row (`encoding`); a record with the wrong number of fields is `malformed`.
pub(super) fn for_each_row(
    path: &Path,
    delimiter: char,
    header: bool,
    column_names: &[String],
    wanted: &[&str],
    what: &str,
    visit: &mut Visit<'_>,
) -> Result<()> {
    let Ok(delimiter) = u8::try_from(delimiter) else {
        bail!("the CSV delimiter must be one ASCII character, not {delimiter:?}");
    };
    let (file, bar) = file_bar(path, what)?;
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(header)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let names: Vec<String> = if header {
        let headers = reader
            .byte_headers()
            .with_context(|| format!("{}: cannot read the header line", path.display()))?;
        headers
            .iter()
            .map(|name| String::from_utf8_lossy(name).trim().to_string())
            .collect()
    } else {
        column_names.to_vec()
    };
    if let Some(missing) = wanted.iter().find(|c| !names.iter().any(|n| n == *c)) {
        bail!(
            "{}: the mapping reads column `{missing}`, which the file does not have (columns: {})",
            path.display(),
            names.join(", ")
        );
    }
    let index: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    let mut record = ByteRecord::new();
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .with_context(|| format!("{}: unreadable CSV", path.display()))?;
        if !more {
            break;
        }
        let position = record
            .position()
            .expect("records read from a file have positions");
        let line = position.line();
        if record.len() != names.len() {
            let rejection = Rejection::new(
                RejectReason::Malformed,
                "",
                &format!("{} fields, expected {}", record.len(), names.len()),
            );
            visit(line, Err(rejection))?;
        } else {
            visit(
                line,
                Ok(&CsvRow {
                    index: &index,
                    record: &record,
                }),
            )?;
        }
        if line.is_multiple_of(4096) {
            bar.set_position(position.byte());
        }
    }
    bar.finish_and_clear();
    Ok(())
}
