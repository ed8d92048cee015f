//! `edgerec-train hybrid`: a transformer bundle that also carries V-SKNN's session index, so
//! the engine ranks with both; the blend weights chosen on validation, the bundle scored on
//! test through the engine (see [`crate::seqrec::hybrid`]).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use edgerec::training::model::QuantPolicy;
use edgerec::training::{Decay, KnnConfig, SessionBlend, VectorWeights};
use edgerec::Engine;
use serde_json::json;

use super::args::{check_dir, BenchmarkArgs, BootstrapArgs, ResultsDirArgs, TestCasesArgs};
use crate::ranking::run::{evaluate, sample_cases_or_all, EvalSettings};
use crate::record::RunRecord;
use crate::seqrec::hybrid::{blended_rank, hybrid_bundle};

#[derive(Debug, Args)]
pub struct HybridArgs {
    #[command(flatten)]
    pub bench: BenchmarkArgs,
    /// The run to ship (`train --all-sessions`, or any run).
    #[arg(long)]
    pub run: PathBuf,
    /// The run the blend weight is chosen with: trained on the validation split's training
    /// data only (default: --run, when it was).
    #[arg(long)]
    pub validation_run: Option<PathBuf>,
    /// Quantization policy of the bundle (f32, q8, q4, ...).
    #[arg(long, default_value = "q8")]
    pub policy: String,
    /// Blend weights of items new to the session tried on validation.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.5,1,1.5,2,3,5,8,13,21,34"
    )]
    pub weights: Vec<f64>,
    /// Blend weights of items already in the session (re-views) tried with each of --weights.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,5,8,13,21,34,55")]
    pub seen_weights: Vec<f64>,
    /// Exponents of the neighbours' votes tried with each pair of weights (1: shares of the
    /// summed similarities as they are; towards 0, every voted item alike). On DIGINETICA
    /// validation below 1 won and above 1 lost (`RESULTS.md`).
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.25,0.5,1")]
    pub vote_exponents: Vec<f64>,
    /// V-SKNN neighbours (default: the choice of `baselines` on DIGINETICA validation).
    #[arg(long, default_value_t = 200)]
    pub neighbours: usize,
    #[arg(long, default_value_t = 2000)]
    pub sample_size: usize,
    #[arg(long, default_value_t = 5.0)]
    pub idf_weight: f64,
    /// Validation cases the weights are chosen on (a seeded subset; 0: all of them, the
    /// default, as the flat optimum needs every case to tell its neighbours apart).
    #[arg(long, default_value_t = 0)]
    pub validation_cases: usize,
    /// The validation metric that picks the weight.
    #[arg(long, default_value = "MRR@20")]
    pub select_by: String,
    #[command(flatten)]
    pub test_cases: TestCasesArgs,
    /// Folder for the bundle (`<data set>-hybrid-<policy>.bundle`).
    #[arg(long, default_value = "build/bundles")]
    pub out: PathBuf,
    // `<data set>-hybrid.json` and `<data set>-sasrec-served.json` (the same bundle with the
    // blend off: the transformer alone, as served).
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
}

pub fn run(args: HybridArgs) -> Result<()> {
    execute(args).map(drop)
}

/// The cut-offs of the metrics computed on validation and test.
const CUTOFFS: [usize; 3] = [5, 10, 20];

/// The policy, with every cheap check done before any data is read.
fn check(args: &HybridArgs) -> Result<QuantPolicy> {
    let policy = QuantPolicy::builtin(&args.policy)
        .with_context(|| format!("--policy {}: unknown policy", args.policy))?;
    args.bench
        .check_metric("--select-by", &args.select_by, &CUTOFFS)?;
    for (flag, values) in [
        ("--weights", &args.weights),
        ("--seen-weights", &args.seen_weights),
        ("--vote-exponents", &args.vote_exponents),
    ] {
        if values.is_empty() {
            bail!("{flag}: expected at least one value");
        }
    }
    check_dir("--run", &args.run)?;
    if let Some(run) = &args.validation_run {
        check_dir("--validation-run", run)?;
    }
    args.bench.check()?;
    Ok(policy)
}

/// Checks the arguments, chooses the blend weights on validation, writes the bundle, scores
/// it on test (blend on and off), prints the headline metrics and returns both run records.
pub fn execute(args: HybridArgs) -> Result<Vec<RunRecord>> {
    let policy = check(&args)?;
    let bench = args.bench.load()?;
    let knn = KnnConfig {
        neighbours: args.neighbours,
        sample_size: args.sample_size,
        vector: Some(VectorWeights {
            position: Decay::Div,
            match_decay: Decay::Div,
            idf_weight: args.idf_weight,
        }),
    };
    let created_at = crate::record::now();
    let settings = EvalSettings {
        cutoffs: CUTOFFS.to_vec(),
        curve_max_k: 20,
        bootstrap_resamples: args.bootstrap.bootstrap,
        seed: 42,
        tuning_cases: args.validation_cases,
        select_by: args.select_by.clone(),
    };

    // The weights, on validation.
    let validation_run = args.validation_run.as_ref().unwrap_or(&args.run);
    let blend = SessionBlend {
        knn,
        weight: 0.0,
        seen_weight: 0.0,
        vote_exponent: 1.0,
    };
    let bytes = hybrid_bundle(
        &bench,
        validation_run,
        &policy,
        &bench.validation.train,
        blend,
        created_at.clone(),
    )?;
    let engine = Engine::from_bundle(&bytes)?;
    let cases = sample_cases_or_all(
        &bench.validation.cases,
        args.validation_cases,
        settings.seed,
    );
    let max_k = settings.cutoffs.iter().copied().max().unwrap_or(20);
    let mut tried = Vec::new();
    let mut best: Option<(f64, (f64, f64, f64))> = None;
    for &vote_exponent in &args.vote_exponents {
        // The transformer and the neighbours run once per case and exponent; each pair of
        // weights only re-blends their outputs, through the engine's own blend.
        let engine = engine.clone().with_blend_weights(0.0, 0.0, vote_exponent);
        let bar = crate::progress::bar(
            cases.len() as u64,
            &format!("validation candidates, vote exponent {vote_exponent}"),
        );
        let inputs = crate::stats::parallel_map(cases.len(), |i| {
            bar.inc(1);
            engine.blend_inputs(&cases[i].history, max_k, bench.include_seen)
        });
        bar.finish_and_clear();
        for &weight in &args.weights {
            for &seen_weight in &args.seen_weights {
                let ranks: Vec<_> = inputs
                    .iter()
                    .zip(&cases)
                    .map(|(input, case)| {
                        blended_rank(input.as_ref()?, case.target, weight, seen_weight, max_k)
                    })
                    .collect();
                let metrics = bench.convention.summarize(&ranks, &settings.cutoffs);
                let score = *metrics
                    .get(&args.select_by)
                    .with_context(|| format!("--select-by `{}` is not a metric", args.select_by))?;
                tracing::debug!(
                    "weights {weight}/{seen_weight}, vote exponent {vote_exponent}: validation {} {score:.3}",
                    args.select_by
                );
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, (weight, seen_weight, vote_exponent)));
                }
                tried.push(json!({
                    "weight": weight,
                    "seen_weight": seen_weight,
                    "vote_exponent": vote_exponent,
                    "validation": metrics,
                }));
            }
        }
    }
    let (best_score, (weight, seen_weight, vote_exponent)) =
        best.context("--weights, --seen-weights or --vote-exponents is empty")?;
    tracing::info!(
        "chosen on validation: weight {weight}, seen_weight {seen_weight}, vote exponent {vote_exponent} ({} {best_score:.3})",
        args.select_by
    );

    // The shipped bundle, on test.
    let started = Instant::now();
    let blend = SessionBlend {
        knn,
        weight,
        seen_weight,
        vote_exponent,
    };
    let bytes = hybrid_bundle(
        &bench,
        &args.run,
        &policy,
        &bench.test.train,
        blend,
        created_at.clone(),
    )?;
    let path = args
        .out
        .join(format!("{}-hybrid-{}.bundle", bench.data.name, policy.name));
    crate::output::write_file(&path, &bytes)?;
    let engine = Engine::from_bundle(&bytes)?;
    let build_seconds = started.elapsed().as_secs_f64();
    let test = args.test_cases.pick(&bench.test.cases, settings.seed);
    let mut records = Vec::new();
    for (model, weights) in [
        ("sasrec-served", (0.0, 0.0, 1.0)),
        ("hybrid", (weight, seen_weight, vote_exponent)),
    ] {
        let engine = engine
            .clone()
            .with_blend_weights(weights.0, weights.1, weights.2);
        let result = evaluate(&engine, &test, &bench, &settings, model);
        let protocol = format!(
            "{}; through the engine from {} (retrieval, re-scoring); {} of {} test cases",
            bench.protocol,
            path.display(),
            test.len(),
            bench.test.cases.len()
        );
        let record = RunRecord {
            config: json!({
                "run": args.run.display().to_string(),
                "validation_run": validation_run.display().to_string(),
                "policy": policy.name,
                "blend": SessionBlend { knn, weight: weights.0, seen_weight: weights.1, vote_exponent: weights.2 },
                "tuning": { "selected_by": args.select_by, "validation_cases": cases.len(), "tried": tried },
            }),
            metrics: result.metrics,
            intervals: result.intervals,
            curves: result.curves,
            bundle_bytes: Some(bytes.len() as u64),
            train_seconds: build_seconds,
            created_at: created_at.clone(),
            ..RunRecord::new(bench.data.clone(), &bench.split, protocol, model)
        };
        println!("{} {model} (weights {weights:?}):", bench.data.name);
        for n in bench.convention.names(&[20]) {
            println!("  {n} {:.2}", record.metrics[&n]);
        }
        let file = format!("{}-{model}.json", record.data.name);
        args.results_dir.write(&file, &record)?;
        records.push(record);
    }
    tracing::info!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(records)
}
