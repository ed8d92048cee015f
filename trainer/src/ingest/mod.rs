//! Reading shops' exports into the canonical model ([`Event`], [`CatalogItem`]), driven by a
//! [`Mapping`] file. Every row is either converted or counted as rejected under a reason, with the
//! first examples kept (file and line); `strict` turns the first rejection into an error.

mod csv;
mod jsonl;
pub mod mapping;
mod parquet;
pub mod reject;
mod sessions;

use std::path::Path;

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;

pub use mapping::{CatalogMapping, EventMapping, Mapping, Source, UnknownEvents};
pub use reject::{RejectExample, RejectReason, RejectReport, Rejection};

use crate::events::{CatalogItem, Event};
use mapping::Fields;

/// What a row source hands over for each row: its fields, or why the row as a whole is unusable.
pub(crate) type RowResult<'a> = Result<&'a dyn Fields, Rejection>;

/// Called with each row's 1-based line (or Parquet row) number.
pub(crate) type Visit<'v> = dyn FnMut(u64, RowResult<'_>) -> Result<()> + 'v;

/// Reads every event of `path` as `mapping` says. Rows that cannot be read are counted in the report
/// by reason; with `strict`, the first one is an error naming file, line, field and value.
pub fn read_events(
    mapping: &Mapping,
    path: &Path,
    strict: bool,
) -> Result<(Vec<Event>, RejectReport)> {
    let Some(events) = &mapping.events else {
        bail!("mapping `{}` has no [events] section", mapping.name);
    };
    if let Source::Sessions {
        user_first,
        step_ms,
    } = mapping.source
    {
        return sessions::read_events(events, path, user_first, step_ms, strict);
    }
    read_rows(mapping, path, strict, "events", |row| events.to_event(row))
}

/// Reads every catalog entry of `path` as `mapping` says (one per row), reporting rejects as
/// [`read_events`] does.
pub fn read_catalog(
    mapping: &Mapping,
    path: &Path,
    strict: bool,
) -> Result<(Vec<CatalogItem>, RejectReport)> {
    let Some(catalog) = &mapping.catalog else {
        bail!("mapping `{}` has no [catalog] section", mapping.name);
    };
    read_rows(mapping, path, strict, "catalog", |row| catalog.to_item(row))
}

/// The shared loop of the row formats: convert each row, count and keep what fails.
fn read_rows<T>(
    mapping: &Mapping,
    path: &Path,
    strict: bool,
    what: &str,
    convert: impl Fn(&dyn Fields) -> Result<T, Rejection>,
) -> Result<(Vec<T>, RejectReport)> {
    let mut report = RejectReport::new(path, what);
    let mut out = Vec::new();
    let columns = mapping.columns();
    let mut visit = |line: u64, row: RowResult<'_>| -> Result<()> {
        report.rows_read += 1;
        match row.and_then(&convert) {
            Ok(value) => {
                out.push(value);
                report.rows_accepted += 1;
                Ok(())
            }
            Err(rejection) => report.reject(line, rejection, strict),
        }
    };
    match &mapping.source {
        Source::Csv {
            delimiter,
            header,
            columns: names,
        } => csv::for_each_row(path, *delimiter, *header, names, &columns, what, &mut visit)?,
        Source::Jsonl => jsonl::for_each_row(path, what, &mut visit)?,
        Source::Parquet => parquet::for_each_row(path, &columns, what, &mut visit)?,
        Source::Sessions { .. } => bail!("the sessions format is read by read_events only"),
    }
    tracing::info!(
        read = report.rows_read,
        rejected = report.total_rejected(),
        "read {what} from {}",
        path.display()
    );
    Ok((out, report))
}

/// A progress bar over a file's bytes, for the text formats.
/// Calls `visit(line number, text)` for every line of a file, with a progress bar over its bytes;
/// a line that is not UTF-8 arrives as an `encoding` rejection. The one line loop of the
/// line-based readers (JSON Lines, sessions).
pub(crate) fn for_each_line(
    path: &Path,
    what: &str,
    mut visit: impl FnMut(u64, Result<&str, Rejection>) -> Result<()>,
) -> Result<()> {
    use std::io::BufRead;
    let (file, bar) = file_bar(path, what)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
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
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Rejection::new(RejectReason::Encoding, "", &String::from_utf8_lossy(&bytes))
        });
        visit(line, text)?;
        if line.is_multiple_of(4096) {
            bar.set_position(offset);
        }
    }
    bar.finish_and_clear();
    Ok(())
}

pub(crate) fn file_bar(path: &Path, what: &str) -> Result<(std::fs::File, ProgressBar)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, crate::progress::bar(len, what)))
}

/// A field's raw bytes as text: `None` when blank, an `encoding` rejection when not UTF-8.
pub(crate) fn field_text<'a>(
    column: &str,
    bytes: &'a [u8],
) -> Result<Option<std::borrow::Cow<'a, str>>, Rejection> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(std::borrow::Cow::Borrowed(text))),
        Err(_) => Err(Rejection::new(
            RejectReason::Encoding,
            column,
            &String::from_utf8_lossy(bytes),
        )),
    }
}
