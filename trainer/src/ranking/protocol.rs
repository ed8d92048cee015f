//! The standard protocols of the ranking data sets, as benchmarks of catalog-indexed sequences.
//!
//! - DIGINETICA (SR-GNN split): train on `train_sessions.txt`; test every line of
//!   `test_sessions.tsv` (prefix -> next item); rank the full catalog, items in the prefix
//!   included; report P@K and MRR@K in percent.
//! - Amazon Beauty (S3-Rec preprocessing): leave-one-out per user: last item = test, second to
//!   last = validation; rank all items except those already in the user's history; report
//!   HR@K and NDCG@K as fractions.
//!
//! Validation for tuning always comes from before the test: DIGINETICA's last 10% of training
//! sessions (every prefix), Amazon's second-to-last items.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::metrics::MetricConvention;
use super::Case;
use crate::data::SessionData;
use crate::record::DataInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSetKind {
    /// DIGINETICA sessions, SR-GNN split (train_sessions.txt, test_sessions.tsv).
    Diginetica,
    /// Amazon 2014 5-core Beauty user sequences, S3-Rec preprocessing (Beauty.txt).
    AmazonBeauty,
}

impl DataSetKind {
    pub fn name(self) -> &'static str {
        match self {
            DataSetKind::Diginetica => "diginetica",
            DataSetKind::AmazonBeauty => "amazon-beauty",
        }
    }

    /// How the data set's literature names and scales its metrics (known before loading it,
    /// so commands can check a metric name up front).
    pub fn convention(self) -> MetricConvention {
        match self {
            DataSetKind::Diginetica => MetricConvention {
                hit_name: "P",
                scale: 100.0,
            },
            DataSetKind::AmazonBeauty => MetricConvention {
                hit_name: "HR",
                scale: 1.0,
            },
        }
    }
}

/// Training sequences (oldest first, file order = time order) and the cases to rank after them.
#[derive(Debug, Clone)]
pub struct Split {
    pub train: Vec<Vec<u32>>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone)]
pub struct Benchmark {
    pub kind: DataSetKind,
    pub data: DataInfo,
    /// How train, validation and test were split, in words.
    pub split: String,
    /// How cases are ranked and scored, in words.
    pub protocol: String,
    /// Item ids by catalog index.
    pub items: Vec<String>,
    pub validation: Split,
    pub test: Split,
    /// Whether items already in the history may be recommended (and count as hits).
    pub include_seen: bool,
    pub convention: MetricConvention,
}

/// The fraction of DIGINETICA's training sessions, from the end, held out for validation.
pub const DIGINETICA_VALIDATION_FRACTION: f64 = 0.1;

impl Benchmark {
    /// Loads `dir`, or without one the sample shipped in `data/<data set>` (the CLIs' default).
    pub fn load_or_sample(kind: DataSetKind, dir: Option<&Path>) -> Result<Self> {
        match dir {
            Some(dir) => Self::load(kind, dir),
            None => Self::load(kind, &Path::new("data").join(kind.name())),
        }
    }

    pub fn load(kind: DataSetKind, dir: &Path) -> Result<Self> {
        match kind {
            DataSetKind::Diginetica => Self::diginetica(dir),
            DataSetKind::AmazonBeauty => Self::amazon_beauty(dir),
        }
    }

    fn diginetica(dir: &Path) -> Result<Self> {
        let raw = SessionData::load(dir)?;
        let mut catalog = Catalog::default();
        let train: Vec<Vec<u32>> = raw.train.iter().map(|s| catalog.encode(s)).collect();
        let test_cases: Vec<Case> = raw
            .test
            .iter()
            .map(|case| Case {
                history: catalog.encode(&case.prefix),
                target: catalog.index(&case.next),
            })
            .collect();
        let held_out = (train.len() as f64 * DIGINETICA_VALIDATION_FRACTION).round() as usize;
        let fit = train[..train.len() - held_out].to_vec();
        let validation_cases = train[train.len() - held_out..]
            .iter()
            .flat_map(|session| {
                (1..session.len()).map(|t| Case {
                    history: session[..t].to_vec(),
                    target: session[t],
                })
            })
            .collect();
        let data = DataInfo::new(
            DataSetKind::Diginetica.name(),
            dir,
            raw.fingerprint,
            &[
                ("train_sessions", train.len()),
                ("test_cases", test_cases.len()),
                ("items", catalog.ids.len()),
            ],
        );
        Ok(Benchmark {
            kind: DataSetKind::Diginetica,
            data,
            split: format!(
                "standard (SR-GNN): test = every prefix of the sessions of the last 7 days; \
                 validation = every prefix of the last {:.0}% of training sessions",
                100.0 * DIGINETICA_VALIDATION_FRACTION
            ),
            protocol: "full catalog ranked, items in the prefix included; metrics in percent"
                .to_string(),
            items: catalog.ids,
            validation: Split {
                train: fit,
                cases: validation_cases,
            },
            test: Split {
                train,
                cases: test_cases,
            },
            include_seen: true,
            convention: DataSetKind::Diginetica.convention(),
        })
    }

    fn amazon_beauty(dir: &Path) -> Result<Self> {
        let path = dir.join("Beauty.txt");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let sequences = parse_user_sequences(&text, &path)?;
        let mut catalog = Catalog::default();
        let encoded: Vec<Vec<u32>> = sequences.iter().map(|s| catalog.encode(s)).collect();
        let leave_out = |last: usize| -> Split {
            let train: Vec<Vec<u32>> = encoded
                .iter()
                .map(|s| s[..s.len() - last].to_vec())
                .collect();
            let cases = encoded
                .iter()
                .zip(&train)
                .map(|(s, history)| Case {
                    history: history.clone(),
                    target: s[s.len() - last],
                })
                .collect();
            Split { train, cases }
        };
        let fingerprint = crate::fingerprint::sha256_hex(text.as_bytes());
        Ok(Benchmark {
            kind: DataSetKind::AmazonBeauty,
            data: DataInfo::new(
                DataSetKind::AmazonBeauty.name(),
                dir,
                fingerprint,
                &[
                    ("users", encoded.len()),
                    ("items", catalog.ids.len()),
                    ("interactions", encoded.iter().map(Vec::len).sum()),
                    ("test_cases", encoded.len()),
                ],
            ),
            split: "leave-one-out (S3-Rec): per user, last item = test, second to last = \
                    validation; models train on each user's items before the held-out one"
                .to_string(),
            protocol: "all items ranked except those in the user's history; metrics as fractions"
                .to_string(),
            items: catalog.ids,
            validation: leave_out(2),
            test: leave_out(1),
            include_seen: false,
            convention: DataSetKind::AmazonBeauty.convention(),
        })
    }
}

/// Lines `user_id item_1 item_2 ...`, oldest item first. A user needs at least three items
/// (training, validation, test); anything shorter is an error naming the line.
pub fn parse_user_sequences(text: &str, path: &Path) -> Result<Vec<Vec<String>>> {
    let mut users = HashMap::new();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut fields = line.split_ascii_whitespace();
            let at = || format!("{}:{}", path.display(), i + 1);
            let Some(user) = fields.next() else {
                bail!("{}: empty line, expected `user_id item ...`", at());
            };
            if let Some(first) = users.insert(user.to_string(), i + 1) {
                bail!("{}: user {user} already had line {first}", at());
            }
            let items: Vec<String> = fields.map(str::to_string).collect();
            if items.len() < 3 {
                bail!(
                    "{}: user {user} has {} items; leave-one-out needs at least 3",
                    at(),
                    items.len()
                );
            }
            Ok(items)
        })
        .collect()
}

/// Item ids to dense indices in order of first appearance, so the same files always give the
/// same catalog.
#[derive(Debug, Default)]
struct Catalog {
    ids: Vec<String>,
    index_of: HashMap<String, u32>,
}

impl Catalog {
    fn index(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index_of.get(id) {
            return i;
        }
        self.ids.push(id.to_string());
        self.index_of
            .insert(id.to_string(), (self.ids.len() - 1) as u32);
        (self.ids.len() - 1) as u32
    }

    fn encode(&mut self, ids: &[String]) -> Vec<u32> {
        ids.iter().map(|id| self.index(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_sequences_name_bad_lines() {
        let p = Path::new("Beauty.txt");
        let ok = parse_user_sequences("1 a b c\n2 c d e f\n", p).unwrap();
        assert_eq!(ok[1], ["c", "d", "e", "f"]);
        let err = parse_user_sequences("1 a b c\n2 a b\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Beauty.txt:2") && err.contains("at least 3"),
            "{err}"
        );
        let err = parse_user_sequences("1 a b c\n1 a b c\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Beauty.txt:2: user 1 already had line 1"),
            "{err}"
        );
        let err = parse_user_sequences("1 a b c\n\n", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Beauty.txt:2: empty line"), "{err}");
    }
}
