//! `edgerec-train quantize`: a trained transformer run quantized by one or more policies into
//! bundles, each loaded back as the edge loads it and compared on the test split.

use std::path::PathBuf;

use anyhow::{Context, Result};
use candle_core::Tensor;
use clap::Args;
use edgerec::training::BundleSigner;

use super::args::{check_dir, BenchmarkArgs, ComputeArgs, PolicyArgs, TestCasesArgs};
use crate::record;
use crate::seqrec::quantize::{
    mib, popularity_order, quantize_policies, report_path, BundleLineage, QuantizeReport,
};
use crate::seqrec::{rank_cases, TrainedRun};

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    // The data set the run was trained on (its test split scores every policy).
    #[command(flatten)]
    pub bench: BenchmarkArgs,
    /// The training run folder (`edgerec-train train --out`); its best checkpoint is used.
    #[arg(long, default_value = "runs/sasrec")]
    pub run: PathBuf,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Folder for the bundles (`<data set>-sasrec-<policy>.bundle`).
    #[arg(long, default_value = "build/bundles")]
    pub out: PathBuf,
    /// Sign every bundle with this Ed25519 secret key (`edgerec-train keygen`).
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
    #[command(flatten)]
    pub compute: ComputeArgs,
    // A subset of the test cases is drawn with the run's seed.
    #[command(flatten)]
    pub test_cases: TestCasesArgs,
    /// Write the comparison as `<dir>/quantize/<data set>.json` (`<data set>-int8.json` with
    /// `--compute quantized`).
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
}

pub fn run(args: QuantizeArgs) -> Result<()> {
    execute(args).map(drop)
}

/// Checks the arguments, writes one bundle per policy, scores each loaded back, prints the
/// comparison and returns it (also written with `--results-dir`).
pub fn execute(args: QuantizeArgs) -> Result<QuantizeReport> {
    let policies = args.policies.read()?;
    check_dir("--run", &args.run)?;
    args.bench.check()?;
    let signer = match &args.sign_key {
        Some(path) => Some(
            BundleSigner::from_hex(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )
            .with_context(|| format!("{}: not a secret key", path.display()))?,
        ),
        None => None,
    };

    let bench = args.bench.load()?;
    let run = TrainedRun::load(&args.run, &crate::seqrec::RunData::of(&bench))?;
    let (state, model, table) = (&run.state, &run.model, &run.table);
    let popularity_order = popularity_order(&bench.validation.train, state.model.num_items);
    let parts = run.export_parts(&bench.items, &popularity_order);

    let cases = args
        .test_cases
        .pick(&bench.test.cases, state.config.train.seed);
    let c = bench.convention;
    let cutoffs = [10, 20];
    let score =
        |model: &edgerec::training::model::SasRec, table: &Tensor, what: &str| -> Result<_> {
            let ranks = rank_cases(model, table, &cases, 20, bench.include_seen, what)?;
            Ok(c.summarize(&ranks, &cutoffs))
        };
    let trained_metrics = score(model, table, "trained f32")?;
    let compute = args.compute.compute();
    let created_at = crate::record::now();
    let validation: Vec<(String, f64)> = state
        .history
        .last()
        .map(|e| e.validation.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (format!("validation {name}"), value))
        .collect();
    let lineage = BundleLineage {
        training_data: serde_json::to_value(&bench.data)?,
        metrics: validation,
        created_at: created_at.clone(),
    };
    let results = quantize_policies(
        &parts,
        &policies,
        &lineage,
        signer.as_ref(),
        compute,
        |policy| {
            args.out
                .join(format!("{}-sasrec-{}.bundle", bench.data.name, policy.name))
        },
        |served| score(&served.model, &served.table, &served.policy.name),
    )?;

    let report = QuantizeReport {
        data: bench.data.clone(),
        protocol: format!(
            "{}; {} of {} test cases",
            bench.protocol,
            cases.len(),
            bench.test.cases.len()
        ),
        run: args.run.display().to_string(),
        compute: format!("{compute:?}").to_lowercase(),
        trained_metrics,
        results,
        created_at,
        code_version: record::code_version(),
        command: record::command_line(),
    };
    print_report(&report, &c.names(&[20]));
    if let Some(dir) = &args.results_dir {
        let path = report_path(dir, &report.data.name, compute);
        crate::output::write_file(&path, serde_json::to_string_pretty(&report)?)?;
        tracing::info!("wrote {}", path.display());
    }
    Ok(report)
}

/// The comparison as a table: per policy the sizes and each metric with its change.
pub fn print_report(report: &QuantizeReport, names: &[String]) {
    println!(
        "{} transformer, {} ({} compute):",
        report.data.name, report.protocol, report.compute
    );
    let metric_header: Vec<String> = names
        .iter()
        .map(|n| format!("{n:>9} {:>7}", "change"))
        .collect();
    println!(
        "  {:<8} {:>10} {:>10} {:>10} {}",
        "policy",
        "bundle",
        "weights",
        "items",
        metric_header.join(" ")
    );
    for r in &report.results {
        let items = r.parts.get("item_vectors").copied().unwrap_or(0)
            + r.parts.get("item_scales").copied().unwrap_or(0);
        let metrics: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "{:>9.4} {:>+6.2}%",
                    r.metrics.get(n).copied().unwrap_or(f64::NAN),
                    r.change_percent.get(n).copied().unwrap_or(f64::NAN)
                )
            })
            .collect();
        println!(
            "  {:<8} {:>10} {:>10} {:>10} {}",
            r.policy.name,
            mib(r.bundle_bytes),
            mib(r.parts.get("weights").copied().unwrap_or(0)),
            mib(items),
            metrics.join(" ")
        );
    }
}
