//! `edgerec-train evaluate`: a bundle's P@K and MRR@K on a data set's test split.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::{check_dir, BundleArgs, CutoffArgs};
use crate::{evaluate, RankingMetrics, SessionData};

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// Data folder with train_sessions.txt and test_sessions.tsv.
    #[arg(long, default_value = "data/diginetica")]
    pub data: PathBuf,
    #[command(flatten)]
    pub k: CutoffArgs,
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    check_dir("--data", &args.data)?;
    let engine = args.bundle.engine()?;
    let data = SessionData::load(&args.data)?;
    print_metrics(
        &args.bundle.bundle.display().to_string(),
        &evaluate(&engine, &data.test, args.k.k),
    );
    Ok(())
}

/// The metrics as a one-row Markdown table.
pub fn print_metrics(model: &str, m: &RankingMetrics) {
    println!(
        "| model | cases | P@{k} | MRR@{k} | targets not in catalog |",
        k = m.k
    );
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| {model} | {} | {:.2} | {:.2} | {} |",
        m.cases, m.precision, m.mrr, m.unknown_targets
    );
}
