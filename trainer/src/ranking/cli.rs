//! `edgerec-train baselines`: every requested baseline on one benchmark, a table on stdout and
//! one run record per model (`<results-dir>/<data set>-<model>.json`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::protocol::{Benchmark, DataSetKind};
use super::run::{run_model, EvalSettings, ModelKind};
use crate::record::RunRecord;

#[derive(Debug, Args)]
pub struct BaselinesArgs {
    /// Which data set (and so which protocol).
    #[arg(long, value_enum)]
    pub data_set: DataSetKind,
    /// Data folder (default: the sample shipped in data/<data set>).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Models to evaluate, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "popularity,covisit,sknn,vsknn"
    )]
    pub models: Vec<ModelKind>,
    /// Write one run record per model here, as <data set>-<model>.json.
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    /// Cut-offs K of the reported metrics (HR/P@K, MRR@K, NDCG@K), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "5,10,20")]
    pub cutoffs: Vec<usize>,
    /// The metric@K curves run from K = 1 to this.
    #[arg(long, default_value_t = 50)]
    pub curve_max_k: usize,
    /// Bootstrap resamples for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap and of the validation subset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Validation cases (a seeded random subset) on which kNN settings are tuned; 0: no tuning,
    /// Ludewig & Jannach's defaults (k = 100, sample 1000).
    #[arg(long, default_value_t = 10_000)]
    pub tuning_cases: usize,
    /// The validation metric that picks settings (default: MRR@20 on DIGINETICA, NDCG@20 on Amazon).
    #[arg(long)]
    pub select_by: Option<String>,
}

pub fn run_baselines(args: BaselinesArgs) -> Result<Vec<RunRecord>> {
    let bench = Benchmark::load_or_sample(args.data_set, args.data.as_deref())?;
    let max_cutoff = args.cutoffs.iter().copied().max().unwrap_or(20);
    let default_select = match args.data_set {
        DataSetKind::Diginetica => format!("MRR@{max_cutoff}"),
        DataSetKind::AmazonBeauty => format!("NDCG@{max_cutoff}"),
    };
    let settings = EvalSettings {
        cutoffs: args.cutoffs.clone(),
        curve_max_k: args.curve_max_k,
        bootstrap_resamples: args.bootstrap,
        seed: args.seed,
        tuning_cases: args.tuning_cases,
        select_by: args.select_by.clone().unwrap_or(default_select),
    };
    let metric_names = bench.convention.names(&settings.cutoffs);
    anyhow::ensure!(
        metric_names.contains(&settings.select_by),
        "--select-by {}: not a metric of this run (one of {})",
        settings.select_by,
        metric_names.join(", ")
    );
    tracing::info!(
        items = bench.items.len(),
        train = bench.test.train.len(),
        test_cases = bench.test.cases.len(),
        validation_cases = bench.validation.cases.len(),
        "{}",
        bench.data.name
    );
    let mut records = Vec::new();
    for &kind in &args.models {
        let record = run_model(&bench, kind, &settings)?;
        if let Some(dir) = &args.results_dir {
            let path = dir.join(format!("{}-{}.json", record.data.name, record.model));
            record.write(&path)?;
            tracing::info!("wrote {}", path.display());
        }
        records.push(record);
    }
    print_table(&records, &bench, max_cutoff);
    Ok(records)
}

fn print_table(records: &[RunRecord], bench: &Benchmark, k: usize) {
    let c = bench.convention;
    let names = c.names(&[k]);
    println!(
        "{} ({} test cases), 95% bootstrap intervals:",
        bench.data.name,
        bench.test.cases.len()
    );
    println!("| model | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(names.len()));
    let digits = if c.scale == 100.0 { 2 } else { 4 };
    for r in records {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                let v = r.metrics.get(n).copied().unwrap_or(f64::NAN);
                match r.intervals.get(n) {
                    Some((lo, hi)) => format!("{v:.digits$} ({lo:.digits$}–{hi:.digits$})"),
                    None => format!("{v:.digits$}"),
                }
            })
            .collect();
        println!("| {} | {} |", r.model, cells.join(" | "));
    }
}
