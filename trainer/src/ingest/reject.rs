//! Rejected rows: every row a reader cannot turn into an event or catalog entry is counted under one
//! reason, and the first few are kept with their file, line and offending value so they can be found.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Why a row was rejected. Each has its own counter, so a summary shows what kind of bad input a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A field (or, for line formats, the line) is not valid UTF-8.
    Encoding,
    /// A required field is absent or empty.
    MissingField,
    /// The time does not parse in the mapping's time format.
    BadTime,
    /// A price below zero.
    NegativePrice,
    /// An event value the mapping does not name, when the mapping rejects unknown events.
    UnknownEvent,
    /// A number (price, quantity) that does not parse, or is not finite.
    BadNumber,
    /// The row itself is broken: wrong number of CSV fields, invalid JSON, not a JSON object.
    Malformed,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Encoding => "encoding",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadTime => "bad_time",
            RejectReason::NegativePrice => "negative_price",
            RejectReason::UnknownEvent => "unknown_event",
            RejectReason::BadNumber => "bad_number",
            RejectReason::Malformed => "malformed",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str()) // honours widths, for the report's aligned counts
    }
}

/// What is wrong with one row, before it is placed in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    /// The mapped field (or source column) at fault; empty when the whole row is.
    pub field: String,
    /// The offending value as read (lossy for encoding errors), shortened to 80 characters.
    pub value: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, field: &str, value: &str) -> Self {
        const MAX_CHARS: usize = 80;
        let value = match value.char_indices().nth(MAX_CHARS) {
            Some((cut, _)) => format!("{}...", &value[..cut]),
            None => value.to_string(),
        };
        Rejection {
            reason,
            field: field.to_string(),
            value,
        }
    }
}

/// One rejected row as reported: where it is and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectExample {
    pub file: String,
    /// 1-based line of a text file (CSV, JSON Lines, sessions) or 1-based row of a Parquet file.
    pub line: u64,
    pub reason: RejectReason,
    pub field: String,
    pub value: String,
}

impl fmt::Display for RejectExample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)?;
        if !self.field.is_empty() {
            write!(f, " in field `{}`", self.field)?;
        }
        write!(f, ": {:?}", self.value)
    }
}

/// Counts of rows read, accepted and rejected (by reason) for one file, with the first examples.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RejectReport {
    pub file: String,
    /// What the rows were read as: `events` or `catalog`.
    pub what: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
    /// The first [`RejectReport::MAX_EXAMPLES`] rejected rows, in file order.
    pub examples: Vec<RejectExample>,
}

impl RejectReport {
    pub const MAX_EXAMPLES: usize = 10;

    pub fn new(file: &Path, what: &str) -> Self {
        RejectReport {
            file: file.display().to_string(),
            what: what.to_string(),
            ..Default::default()
        }
    }

    pub fn total_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn count(&self, reason: RejectReason) -> u64 {
        self.rejected.get(&reason).copied().unwrap_or(0)
    }

    /// Records a rejection at `line`; in strict mode the first one is an error naming file and line.
    pub fn reject(&mut self, line: u64, rejection: Rejection, strict: bool) -> anyhow::Result<()> {
        let example = RejectExample {
            file: self.file.clone(),
            line,
            reason: rejection.reason,
            field: rejection.field,
            value: rejection.value,
        };
        if strict {
            anyhow::bail!("{example} (--strict stops at the first rejected row)");
        }
        *self.rejected.entry(example.reason).or_default() += 1;
        if self.examples.len() < Self::MAX_EXAMPLES {
            self.examples.push(example);
        }
        Ok(())
    }
}

impl fmt::Display for RejectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}): {} rows read, {} accepted, {} rejected",
            self.file,
            self.what,
            self.rows_read,
            self.rows_accepted,
            self.total_rejected()
        )?;
        for (reason, count) in &self.rejected {
            writeln!(f, "  {reason:<15} {count}")?;
        }
        if !self.examples.is_empty() {
            writeln!(f, "first rejected rows:")?;
            for example in &self.examples {
                writeln!(f, "  {example}")?;
            }
        }
        Ok(())
    }
}
