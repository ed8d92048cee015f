//! `edgerec-train hybrid`: a transformer bundle that also carries V-SKNN's session index, so
//! the engine ranks with both (a candidate's transformer probability plus a weight times its
//! share of the neighbours' votes; see `edgerec::SessionBlend`).
//!
//! The weight is chosen on validation: the validation run (trained on the validation split's
//! training data) with an index of those sessions, scored through the engine for every weight
//! tried. The shipped bundle then holds the final run and an index of every training session,
//! and is scored on the test split through the engine, as the edge answers: the transformer
//! alone (weight 0) and the blend, each recorded as a run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use edgerec::model::serving::export;
use edgerec::model::QuantPolicy;
use edgerec::{Decay, Engine, KnnConfig, SessionBlend, SessionKnn, VectorWeights};
use serde_json::json;

use super::TrainedRun;
use crate::ranking::protocol::{Benchmark, DataSetKind};
use crate::ranking::run::{evaluate, sample_cases, sample_cases_or_all, EvalSettings};
use crate::record::{self, RunRecord};

#[derive(Debug, Args)]
pub struct HybridArgs {
    #[arg(long, value_enum)]
    pub data_set: DataSetKind,
    /// Data folder (default: the sample shipped in data/<data set>).
    #[arg(long)]
    pub data: Option<PathBuf>,
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
    /// Score only this many test cases (seeded subset); default all.
    #[arg(long)]
    pub test_cases: Option<usize>,
    /// Folder for the bundle (`<data set>-hybrid-<policy>.bundle`).
    #[arg(long, default_value = "build/bundles")]
    pub out: PathBuf,
    /// Write `<data set>-hybrid.json` and `<data set>-sasrec-served.json` (the same bundle with
    /// the blend off: the transformer alone, as served) here.
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
}

/// A hybrid bundle: `run`'s transformer quantized by `policy`, plus V-SKNN over `sessions`.
pub fn hybrid_bundle(
    bench: &Benchmark,
    run: &std::path::Path,
    policy: &QuantPolicy,
    sessions: &[Vec<u32>],
    blend: SessionBlend,
    created_at: String,
) -> Result<Vec<u8>> {
    let run = TrainedRun::load(run, &super::RunData::of(bench))?;
    let popularity_order = super::quantize::popularity_order(sessions, bench.items.len());
    let (mut writer, _) = export(
        &run.export_parts(&bench.items, &popularity_order),
        policy,
        created_at,
    )?;
    SessionKnn::train(sessions, bench.items.len(), blend.knn).write_sections(&mut writer);
    writer.model_param(
        edgerec::session_knn::SESSION_BLEND_PARAM,
        serde_json::to_value(blend)?,
    );
    writer.training_data(serde_json::to_value(&bench.data)?);
    Ok(writer.finish())
}

/// The target's 0-based rank in a case's blend with these weights (ties broken by item index,
/// as the engine sorts), or `None` outside the top `max_k` or the candidates.
fn blended_rank(
    input: &edgerec::BlendInputs,
    target: u32,
    weight: f64,
    seen_weight: f64,
    max_k: usize,
) -> Option<u32> {
    let blended = input.blended(weight, seen_weight);
    let (_, score) = *blended.iter().find(|c| c.0 == target)?;
    let better = blended
        .iter()
        .filter(|c| c.1 > score || (c.1 == score && c.0 < target))
        .count();
    (better < max_k).then_some(better as u32)
}

pub fn run_hybrid(args: HybridArgs) -> Result<Vec<RunRecord>> {
    let bench = Benchmark::load_or_sample(args.data_set, args.data.as_deref())?;
    let policy = QuantPolicy::builtin(&args.policy)
        .with_context(|| format!("unknown policy `{}`", args.policy))?;
    let knn = KnnConfig {
        neighbours: args.neighbours,
        sample_size: args.sample_size,
        vector: Some(VectorWeights {
            position: Decay::Div,
            match_decay: Decay::Div,
            idf_weight: args.idf_weight,
        }),
    };
    let created_at = record::now();
    let settings = EvalSettings {
        cutoffs: vec![5, 10, 20],
        curve_max_k: 20,
        bootstrap_resamples: args.bootstrap,
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
    let test = match args.test_cases {
        Some(n) => sample_cases(&bench.test.cases, n, settings.seed),
        None => bench.test.cases.clone(),
    };
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
        if let Some(dir) = &args.results_dir {
            let out = dir.join(format!("{}-{model}.json", record.data.name));
            record.write(&out)?;
            tracing::info!("wrote {}", out.display());
        }
        records.push(record);
    }
    tracing::info!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(records)
}
