//! The run record: one JSON file per (data set, model) run under `results/`, from which
//! `RESULTS.md` and the HTML reports are generated. Every figure names how it was made.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// Data set name, e.g. `diginetica`, `amazon-beauty`, `taobao`.
    pub name: String,
    pub path: String,
    /// SHA-256 over the input files.
    pub fingerprint_sha256: String,
    /// Sizes worth stating (sessions, users, items, test cases, ...).
    #[serde(default)]
    pub sizes: BTreeMap<String, u64>,
}

impl DataInfo {
    /// A data set as a record states it; `sizes` as (what, how many) pairs.
    pub fn new(
        name: impl Into<String>,
        path: &Path,
        fingerprint_sha256: impl Into<String>,
        sizes: &[(&str, usize)],
    ) -> Self {
        DataInfo {
            name: name.into(),
            path: path.display().to_string(),
            fingerprint_sha256: fingerprint_sha256.into(),
            sizes: sizes
                .iter()
                .map(|&(k, v)| (k.to_string(), v as u64))
                .collect(),
        }
    }
}

/// A plotted curve: training loss per epoch, a reliability diagram, lift by decile, metric@K.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub name: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub data: DataInfo,
    /// How train and test were split, in words (e.g. "standard SR-GNN split: test = last 7 days").
    pub split: String,
    /// The evaluation protocol, in words (e.g. "full catalog ranked, seen items included").
    pub protocol: String,
    /// Model name, e.g. `covisit`, `sknn`, `popularity`, `logistic-regression`.
    pub model: String,
    pub config: serde_json::Value,
    /// Metric name (`P@20`, `MRR@20`, `HR@20`, `NDCG@20`, `AUC`, `LogLoss`, `ECE`) -> value.
    pub metrics: BTreeMap<String, f64>,
    /// 95% bootstrap confidence intervals, by metric name.
    #[serde(default)]
    pub intervals: BTreeMap<String, (f64, f64)>,
    #[serde(default)]
    pub curves: Vec<Curve>,
    /// Bundle size in bytes, when the run exported one.
    #[serde(default)]
    pub bundle_bytes: Option<u64>,
    pub train_seconds: f64,
    pub created_at: String,
    /// The crate version and, where available, the git commit.
    pub code_version: String,
    /// The command line that produced this record.
    pub command: String,
}

impl RunRecord {
    /// A record of `model` on `data` (split and evaluated as `split` and `protocol` say, in
    /// words), stamped now: creation time ([`now`]), [`code_version`] and [`command_line`].
    /// The caller adds what its model has (config, metrics, intervals, curves, bundle size,
    /// training time), e.g. `RunRecord { metrics, ..RunRecord::new(data, split, protocol, model) }`.
    pub fn new(
        data: DataInfo,
        split: impl Into<String>,
        protocol: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        RunRecord {
            data,
            split: split.into(),
            protocol: protocol.into(),
            model: model.into(),
            config: serde_json::Value::Null,
            metrics: BTreeMap::new(),
            intervals: BTreeMap::new(),
            curves: Vec::new(),
            bundle_bytes: None,
            train_seconds: 0.0,
            created_at: now(),
            code_version: code_version(),
            command: command_line(),
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        crate::output::write_file(path, serde_json::to_string_pretty(self)?)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run record", path.display()))
    }
}

/// The time now as records and bundles state it (RFC 3339, UTC, whole seconds).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// `edgerec-trainer <version> (<git commit>)`, the commit read at build time when git is there.
pub fn code_version() -> String {
    let commit = option_env!("EDGEREC_GIT_COMMIT").unwrap_or("unknown commit");
    format!("edgerec-trainer {} ({commit})", env!("CARGO_PKG_VERSION"))
}

/// The current command line, for the record.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}
