//! Train / validation / test splits ([`Splits`]): of events by time ([`TimeSplits`]: every event
//! before the validation cut-off is training, every event from the test cut-off on is test; an
//! event-level cut cannot leak the future, a session that straddles a cut-off is cut with it), and
//! of reviews by item (`crate::text::data::ItemSplit`).
//!
//! The ranking benchmarks' `ranking::protocol::Split` (sequences to fit on, cases to rank) and the
//! purchase task's `conversion::task::PurchaseSplit` (two time windows of features and labels) are
//! not three-way partitions of records, so they stay types of their own.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, ensure, Context, Result};
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::events::Event;

/// How to place the two cut-offs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitSpec {
    /// Shares of events (by time order) for validation and test; training gets the rest.
    Fractions { validation: f64, test: f64 },
    /// Explicit cut-offs, Unix ms.
    CutOffs(CutOffs),
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec::Fractions {
            validation: 0.1,
            test: 0.1,
        }
    }
}

impl FromStr for SplitSpec {
    type Err = anyhow::Error;

    /// `80/10/10` (percent of events for train/validation/test, by time) or two RFC 3339 cut-offs
    /// `2019-10-01T02:00:00Z,2019-10-01T02:30:00Z` (validation from the first, test from the second).
    fn from_str(text: &str) -> Result<Self> {
        if let Some((first, second)) = text.split_once(',') {
            let time = |t: &str| -> Result<i64> {
                Ok(DateTime::parse_from_rfc3339(t.trim())
                    .with_context(|| format!("`{t}` is not an RFC 3339 time"))?
                    .timestamp_millis())
            };
            let cut_offs = CutOffs {
                validation_from_ms: time(first)?,
                test_from_ms: time(second)?,
            };
            ensure!(
                cut_offs.validation_from_ms <= cut_offs.test_from_ms,
                "the validation cut-off must not come after the test cut-off"
            );
            return Ok(SplitSpec::CutOffs(cut_offs));
        }
        let parts: Vec<f64> = text
            .split('/')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("`{text}` is not train/validation/test percentages"))?;
        let [train, validation, test] = parts[..] else {
            bail!("`{text}`: give three percentages, train/validation/test (e.g. 80/10/10)");
        };
        ensure!(
            parts.iter().all(|p| *p >= 0.0) && (train + validation + test - 100.0).abs() < 1e-6,
            "`{text}`: the percentages must be non-negative and add up to 100"
        );
        Ok(SplitSpec::Fractions {
            validation: validation / 100.0,
            test: test / 100.0,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutOffs {
    pub validation_from_ms: i64,
    pub test_from_ms: i64,
}

impl fmt::Display for CutOffs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "validation from {}, test from {}",
            format_ms(self.validation_from_ms),
            format_ms(self.test_from_ms)
        )
    }
}

/// A Unix-ms time as RFC 3339 (UTC).
pub fn format_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{ms} ms"))
}

impl SplitSpec {
    /// The cut-offs for these events: for fractions, the times of the events at those shares.
    pub fn cut_offs(&self, events: &[Event]) -> CutOffs {
        match *self {
            SplitSpec::CutOffs(cut_offs) => cut_offs,
            SplitSpec::Fractions { validation, test } => {
                let mut times: Vec<i64> = events.iter().map(|e| e.timestamp_ms).collect();
                times.sort_unstable();
                let at = |share: f64| -> i64 {
                    let index = ((times.len() as f64) * (1.0 - share)).floor() as usize;
                    times.get(index).copied().unwrap_or(i64::MAX)
                };
                CutOffs {
                    validation_from_ms: at(validation + test),
                    test_from_ms: at(test),
                }
            }
        }
    }
}

/// Records (events, review indices, ...) in three parts, each in its original order, and `how`
/// they were placed (the time cut-offs, the number of items of each part, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splits<T, How> {
    pub train: Vec<T>,
    pub validation: Vec<T>,
    pub test: Vec<T>,
    pub how: How,
}

/// Events in three time ranges.
pub type TimeSplits = Splits<Event, CutOffs>;

impl<T, How> Splits<T, How> {
    /// Places each record in the part `part_of` names (0 train, 1 validation, 2 test), keeping
    /// their order.
    pub fn place(
        records: impl IntoIterator<Item = T>,
        how: How,
        mut part_of: impl FnMut(&T) -> usize,
    ) -> Self {
        let mut parts: [Vec<T>; 3] = Default::default();
        for record in records {
            let part = part_of(&record);
            parts[part].push(record);
        }
        let [train, validation, test] = parts;
        Splits {
            train,
            validation,
            test,
            how,
        }
    }

    /// `(name, records)` of the three parts: train, validation, test.
    pub fn parts(&self) -> [(&'static str, &[T]); 3] {
        [
            ("train", &self.train),
            ("validation", &self.validation),
            ("test", &self.test),
        ]
    }
}

impl TimeSplits {
    /// Places each event by its time; the order within each split is kept.
    pub fn by_time(events: Vec<Event>, cut_offs: CutOffs) -> Self {
        Splits::place(events, cut_offs, |event| {
            if event.timestamp_ms < cut_offs.validation_from_ms {
                0
            } else if event.timestamp_ms < cut_offs.test_from_ms {
                1
            } else {
                2
            }
        })
    }

    /// Fails if any event of a later split precedes a cut-off, or of an earlier one reaches it.
    pub fn check_no_leak(&self) -> Result<()> {
        let c = self.how;
        let bounds = [
            ("train", &self.train, i64::MIN, c.validation_from_ms),
            (
                "validation",
                &self.validation,
                c.validation_from_ms,
                c.test_from_ms,
            ),
            ("test", &self.test, c.test_from_ms, i64::MAX),
        ];
        for (name, events, from, until) in bounds {
            if let Some(e) = events
                .iter()
                .find(|e| e.timestamp_ms < from || (until != i64::MAX && e.timestamp_ms >= until))
            {
                bail!(
                    "{name} split holds an event at {} outside its range ({c})",
                    format_ms(e.timestamp_ms)
                );
            }
        }
        Ok(())
    }
}
