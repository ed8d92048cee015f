//! `edgerec-train baselines`: every requested baseline on one benchmark, a table on stdout and
//! one run record per model (`<results-dir>/<data set>-<model>.json`).

use anyhow::Result;
use clap::Args;

use super::args::{BenchmarkArgs, BootstrapArgs, ResultsDirArgs};
use crate::ranking::protocol::{Benchmark, DataSetKind};
use crate::ranking::run::{run_model, EvalSettings, ModelKind};
use crate::record::RunRecord;

#[derive(Debug, Args)]
pub struct BaselinesArgs {
    #[command(flatten)]
    pub bench: BenchmarkArgs,
    /// Models to evaluate, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "popularity,covisit,sknn,vsknn"
    )]
    pub models: Vec<ModelKind>,
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
    /// Cut-offs K of the reported metrics (HR/P@K, MRR@K, NDCG@K), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "5,10,20")]
    pub cutoffs: Vec<usize>,
    /// The metric@K curves run from K = 1 to this.
    #[arg(long, default_value_t = 50)]
    pub curve_max_k: usize,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
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

/// Checks the arguments, evaluates every model, writes their run records and prints a table.
pub fn run(args: BaselinesArgs) -> Result<()> {
    let settings = settings(&args)?;
    args.bench.check()?;
    let bench = args.bench.load()?;
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
        let file = format!("{}-{}.json", record.data.name, record.model);
        args.results_dir.write(&file, &record)?;
        records.push(record);
    }
    print_table(&records, &bench, max_cutoff(&settings.cutoffs));
    Ok(())
}

fn max_cutoff(cutoffs: &[usize]) -> usize {
    cutoffs.iter().copied().max().unwrap_or(20)
}

/// The evaluation settings, checked before any data is read: cut-offs of at least 1 and a
/// `--select-by` metric that the tuning computes.
fn settings(args: &BaselinesArgs) -> Result<EvalSettings> {
    anyhow::ensure!(
        !args.cutoffs.is_empty() && !args.cutoffs.contains(&0),
        "--cutoffs: expected cut-offs of at least 1"
    );
    let max_cutoff = max_cutoff(&args.cutoffs);
    let default_select = match args.bench.data_set {
        DataSetKind::Diginetica => format!("MRR@{max_cutoff}"),
        DataSetKind::AmazonBeauty => format!("NDCG@{max_cutoff}"),
    };
    let settings = EvalSettings {
        cutoffs: args.cutoffs.clone(),
        curve_max_k: args.curve_max_k,
        bootstrap_resamples: args.bootstrap.bootstrap,
        seed: args.seed,
        tuning_cases: args.tuning_cases,
        select_by: args.select_by.clone().unwrap_or(default_select),
    };
    args.bench
        .check_metric("--select-by", &settings.select_by, &settings.cutoffs)?;
    Ok(settings)
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
