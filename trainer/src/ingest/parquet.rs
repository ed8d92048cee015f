//! Parquet, read row by row through the parquet crate's record API (no Arrow: a flat table of a few
//! columns needs none, and leaving it out keeps the build short).

use std::borrow::Cow;
use std::path::Path;

use anyhow::{bail, Context, Result};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};

use super::mapping::Fields;
use super::reject::Rejection;
use super::{field_text, Visit};

struct ParquetRow<'a>(&'a Row);

impl Fields for ParquetRow<'_> {
    fn get(&self, column: &str) -> Result<Option<Cow<'_, str>>, Rejection> {
        let Some((_, field)) = self.0.get_column_iter().find(|(name, _)| *name == column) else {
            return Ok(None);
        };
        Ok(match field {
            Field::Null => None,
            Field::Str(text) => field_text(column, text.as_bytes())?,
            Field::Bytes(bytes) => field_text(column, bytes.data())?,
            Field::Bool(v) => Some(Cow::Owned(v.to_string())),
            Field::Byte(v) => Some(Cow::Owned(v.to_string())),
            Field::Short(v) => Some(Cow::Owned(v.to_string())),
            Field::Int(v) => Some(Cow::Owned(v.to_string())),
            Field::Long(v) => Some(Cow::Owned(v.to_string())),
            Field::UByte(v) => Some(Cow::Owned(v.to_string())),
            Field::UShort(v) => Some(Cow::Owned(v.to_string())),
            Field::UInt(v) => Some(Cow::Owned(v.to_string())),
            Field::ULong(v) => Some(Cow::Owned(v.to_string())),
            Field::Float(v) => Some(Cow::Owned(v.to_string())),
            Field::Double(v) => Some(Cow::Owned(v.to_string())),
            // Dates, decimals, timestamps, nested values: as the parquet crate prints them.
            other => Some(Cow::Owned(other.to_string())),
        })
    }
}

pub(super) fn for_each_row(
    path: &Path,
    wanted: &[&str],
    what: &str,
    visit: &mut Visit<'_>,
) -> Result<()> {
    let reader = SerializedFileReader::try_from(path)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    let metadata = reader.metadata().file_metadata();
    let names: Vec<String> = metadata
        .schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    if let Some(missing) = wanted.iter().find(|c| !names.iter().any(|n| n == *c)) {
        bail!(
            "{}: the mapping reads column `{missing}`, which the file does not have (columns: {})",
            path.display(),
            names.join(", ")
        );
    }
    let bar = crate::progress::bar(metadata.num_rows().max(0) as u64, what);
    let rows = reader
        .get_row_iter(None)
        .with_context(|| format!("{}: cannot read rows", path.display()))?;
    for (i, row) in rows.enumerate() {
        let row_number = i as u64 + 1;
        let row = row.with_context(|| format!("{}: row {row_number}", path.display()))?;
        visit(row_number, Ok(&ParquetRow(&row)))?;
        if row_number.is_multiple_of(4096) {
            bar.set_position(row_number);
        }
    }
    bar.finish_and_clear();
    Ok(())
}
