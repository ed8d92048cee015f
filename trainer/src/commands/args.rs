//! Flag groups that several subcommands share, each flattened into their argument structs with
//! `#[command(flatten)]`, with the small checks and helpers that go with them.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::builder::RangedU64ValueParser;
use clap::Args;
use edgerec::training::model::{Compute, QuantPolicy};
use edgerec::Engine;

use crate::ranking::protocol::{Benchmark, DataSetKind};
use crate::ranking::run::sample_cases;
use crate::ranking::Case;
use crate::record::RunRecord;
use crate::seqrec::quantize::read_policies;

/// `--data-set`, `--data`: a ranking benchmark (`baselines`, `train`, `hybrid`, `quantize`).
#[derive(Debug, Clone, Args)]
pub struct BenchmarkArgs {
    /// Which data set (and so which protocol and metrics).
    #[arg(long, value_enum)]
    pub data_set: DataSetKind,
    /// Data folder (default: the sample shipped in data/<data set>).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl BenchmarkArgs {
    pub fn new(data_set: DataSetKind, data: Option<PathBuf>) -> Self {
        Self { data_set, data }
    }

    /// The data folder read: `--data`, or the shipped sample.
    pub fn folder(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| Path::new("data").join(self.data_set.name()))
    }

    /// Fails unless the data folder exists (a cheap check before any work).
    pub fn check(&self) -> Result<()> {
        let folder = self.folder();
        if !folder.is_dir() {
            bail!(
                "--data {}: no such folder (the {} data set)",
                folder.display(),
                self.data_set.name()
            );
        }
        Ok(())
    }

    pub fn load(&self) -> Result<Benchmark> {
        Benchmark::load_or_sample(self.data_set, self.data.as_deref())
    }

    /// Fails unless `metric` is one of the names the data set's convention gives at `cutoffs`
    /// (`P@20`, `MRR@20`, ... on DIGINETICA; `HR@20`, `NDCG@20`, ... on Amazon).
    pub fn check_metric(&self, flag: &str, metric: &str, cutoffs: &[usize]) -> Result<()> {
        check_metric(self.data_set, flag, metric, cutoffs)
    }
}

/// Fails unless `metric` is one of the names `kind`'s convention gives at `cutoffs`.
pub fn check_metric(kind: DataSetKind, flag: &str, metric: &str, cutoffs: &[usize]) -> Result<()> {
    let names = kind.convention().names(cutoffs);
    if !names.iter().any(|n| n == metric) {
        bail!(
            "{flag} {metric}: not a metric computed on {} (one of {})",
            kind.name(),
            names.join(", ")
        );
    }
    Ok(())
}

/// `--test-cases`: score a seeded subset of the test split (`train`, `hybrid`, `quantize`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct TestCasesArgs {
    /// Score only this many test cases (a seeded subset); default: all, as the protocol says.
    #[arg(long)]
    pub test_cases: Option<usize>,
}

impl TestCasesArgs {
    pub fn new(test_cases: Option<usize>) -> Self {
        Self { test_cases }
    }

    /// The test cases to score: all of `cases`, or a subset drawn with `seed`.
    pub fn pick(&self, cases: &[Case], seed: u64) -> Vec<Case> {
        match self.test_cases {
            Some(n) => sample_cases(cases, n, seed),
            None => cases.to_vec(),
        }
    }
}

/// `--results-dir`: where the run records go.
#[derive(Debug, Clone, Default, Args)]
pub struct ResultsDirArgs {
    /// Write the run records here (JSON, one per model, named `<data set>-<model>.json`).
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
}

impl ResultsDirArgs {
    pub fn new(results_dir: Option<PathBuf>) -> Self {
        Self { results_dir }
    }

    /// Writes `record` as `<results dir>/<file>` when there is a results folder.
    pub fn write(&self, file: &str, record: &RunRecord) -> Result<()> {
        if let Some(dir) = &self.results_dir {
            let path = dir.join(file);
            record.write(&path)?;
            tracing::info!("wrote {}", path.display());
        }
        Ok(())
    }
}

/// `--bootstrap`: resamples for the 95% intervals.
#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// Bootstrap resamples of the test cases for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
}

impl Default for BootstrapArgs {
    fn default() -> Self {
        Self { bootstrap: 1000 }
    }
}

/// `-k`, `--k`: the cut-off of the metrics (or the length of the lists recommended).
#[derive(Debug, Clone, Copy, Args)]
pub struct CutoffArgs {
    /// Cut-off K of the metrics: how many items are recommended (at least 1).
    #[arg(short, long, default_value_t = 20, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub k: usize,
}

impl Default for CutoffArgs {
    fn default() -> Self {
        Self { k: 20 }
    }
}

/// `--bundle`: a bundle to read.
#[derive(Debug, Clone, Args)]
pub struct BundleArgs {
    /// The model bundle.
    #[arg(long)]
    pub bundle: PathBuf,
}

impl BundleArgs {
    pub fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.bundle)
            .with_context(|| format!("cannot read {}", self.bundle.display()))
    }

    /// The bundle loaded as the edge loads it.
    pub fn engine(&self) -> Result<Engine> {
        Engine::from_bundle(&self.read()?)
            .with_context(|| format!("{} is not a usable bundle", self.bundle.display()))
    }
}

/// `--out` for commands that write JSON lines: a file, or standard output.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl OutputArgs {
    pub fn sink(&self) -> Result<Box<dyn Write>> {
        Ok(match &self.out {
            Some(path) => Box::new(BufWriter::new(crate::output::create_file(path)?)),
            None => Box::new(BufWriter::new(std::io::stdout().lock())),
        })
    }
}

/// `--mapping`, `--input`: a shop export read through a mapping (`prepare`, `cold-start`).
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Mapping file that says how the input's columns become events and catalog entries (see
    /// mappings/).
    #[arg(long)]
    pub mapping: PathBuf,
    /// The data file to read (CSV, JSON Lines, Parquet or a sessions text file, as the mapping
    /// says).
    #[arg(long)]
    pub input: PathBuf,
}

impl ExportArgs {
    /// Fails unless both files exist.
    pub fn check(&self) -> Result<()> {
        check_file("--mapping", &self.mapping)?;
        check_file("--input", &self.input)
    }
}

/// `--policies`, `--policy-file`: the quantization policies to export with.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Built-in policies to compare (f32, f16, q8, q6, q5, q4), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "f32,q8,q4")]
    pub policies: Vec<String>,
    /// Extra policies from a TOML file (`[[policy]]` tables: name, default, rules, item_table).
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
}

impl PolicyArgs {
    pub fn read(&self) -> Result<Vec<QuantPolicy>> {
        read_policies(&self.policies, self.policy_file.as_deref())
    }
}

/// `--encoder`: the pretrained text encoder (`text`, `text-bundle`).
#[derive(Debug, Clone, Args)]
pub struct EncoderArgs {
    /// Folder of the pretrained encoder (config.json, tokenizer.json, model.safetensors).
    #[arg(long, default_value = "../shared/models/all-MiniLM-L6-v2")]
    pub encoder: PathBuf,
}

impl EncoderArgs {
    /// Fails unless the folder exists.
    pub fn check(&self) -> Result<()> {
        check_dir("--encoder", &self.encoder)
    }
}

/// How loaded bundles compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ComputeArg {
    Dequantized,
    Quantized,
}

/// `--compute`: how the bundles loaded back compute (`quantize`, `purchase`, `text-bundle`).
#[derive(Debug, Clone, Copy, Args)]
pub struct ComputeArgs {
    /// How the loaded bundles compute: candle's f32 ops on dequantized weights (the trainer's
    /// arithmetic), or edgerec's int8 kernels (what the edge runs by default).
    #[arg(long, value_enum, default_value = "dequantized")]
    pub compute: ComputeArg,
}

impl ComputeArgs {
    pub fn compute(self) -> Compute {
        match self.compute {
            ComputeArg::Dequantized => Compute::Dequantized,
            ComputeArg::Quantized => Compute::Quantized,
        }
    }
}

impl Default for ComputeArgs {
    fn default() -> Self {
        Self {
            compute: ComputeArg::Dequantized,
        }
    }
}

/// Fails unless `path` is a file, naming the flag.
pub fn check_file(flag: &str, path: &Path) -> Result<()> {
    if !path.is_file() {
        bail!("{flag} {}: no such file", path.display());
    }
    Ok(())
}

/// Fails unless `path` is a folder, naming the flag.
pub fn check_dir(flag: &str, path: &Path) -> Result<()> {
    if !path.is_dir() {
        bail!("{flag} {}: no such folder", path.display());
    }
    Ok(())
}
