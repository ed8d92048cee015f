//! One baseline on one benchmark: tune on validation (when the model has knobs), train on the
//! test split's training data, rank the test cases, and record everything as a [`RunRecord`].

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use super::baselines::{CovisitEngine, Popularity};
use super::metrics::Rank;
use super::protocol::Benchmark;
use super::sknn::{Decay, KnnConfig, SessionKnn, VectorWeights};
use super::{rank_cases, Case, Recommender};
use crate::covisit::CovisitConfig;
use crate::record::{self, Curve, RunRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// PopRec: the most popular training items.
    Popularity,
    /// Item-to-item co-visitation, evaluated through the serving engine.
    Covisit,
    /// Session-kNN with cosine similarity (Ludewig & Jannach 2018).
    Sknn,
    /// Vector-multiplication session-kNN with position decay and IDF weighting.
    Vsknn,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Popularity => "popularity",
            ModelKind::Covisit => "covisit",
            ModelKind::Sknn => "sknn",
            ModelKind::Vsknn => "vsknn",
        }
    }

    /// Configurations tried on validation; the first is the default when tuning is off.
    pub fn knn_grid(self) -> Vec<KnnConfig> {
        let sizes = [(100, 1000), (50, 500), (200, 2000), (500, 5000), (200, 0)];
        match self {
            ModelKind::Sknn => sizes
                .map(|(neighbours, sample_size)| KnnConfig {
                    neighbours,
                    sample_size,
                    vector: None,
                })
                .to_vec(),
            ModelKind::Vsknn => {
                let mut grid = Vec::new();
                for (neighbours, sample_size) in sizes {
                    for idf_weight in [1.0, 0.0, 5.0] {
                        grid.push(KnnConfig {
                            neighbours,
                            sample_size,
                            vector: Some(VectorWeights {
                                position: Decay::Div,
                                match_decay: Decay::Div,
                                idf_weight,
                            }),
                        });
                    }
                }
                grid
            }
            ModelKind::Popularity | ModelKind::Covisit => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalSettings {
    /// Cut-offs K reported as metrics (with intervals).
    pub cutoffs: Vec<usize>,
    /// Curves run from K = 1 to this.
    pub curve_max_k: usize,
    pub bootstrap_resamples: usize,
    pub seed: u64,
    /// Validation cases used for tuning (a seeded random subset); 0 turns tuning off.
    pub tuning_cases: usize,
    /// The validation metric that picks the configuration, e.g. `MRR@20`.
    pub select_by: String,
}

/// Ranks, metrics, intervals and curves of one model on one set of cases.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub ranks: Vec<Rank>,
    pub metrics: std::collections::BTreeMap<String, f64>,
    pub intervals: std::collections::BTreeMap<String, (f64, f64)>,
    pub curves: Vec<Curve>,
}

pub fn evaluate(
    model: &dyn Recommender,
    cases: &[Case],
    bench: &Benchmark,
    settings: &EvalSettings,
    what: &str,
) -> Evaluation {
    let max_k = settings
        .curve_max_k
        .max(settings.cutoffs.iter().copied().max().unwrap_or(0));
    let ranks = rank_cases(model, cases, max_k, bench.include_seen, what);
    let convention = bench.convention;
    Evaluation {
        metrics: convention.summarize(&ranks, &settings.cutoffs),
        intervals: convention.bootstrap(
            &ranks,
            &settings.cutoffs,
            settings.bootstrap_resamples,
            settings.seed,
        ),
        curves: convention.curves(&ranks, settings.curve_max_k),
        ranks,
    }
}

/// Tunes (where there is something to tune), trains on the test split and evaluates.
pub fn run_model(bench: &Benchmark, kind: ModelKind, settings: &EvalSettings) -> Result<RunRecord> {
    let created_at = record::now();
    let num_items = bench.items.len();
    let train = &bench.test.train;
    // Tuning first: the recorded training time is that of the model evaluated.
    let knn_choice =
        matches!(kind, ModelKind::Sknn | ModelKind::Vsknn).then(|| tune_knn(bench, kind, settings));
    let started = Instant::now();
    let (model, config, bundle_bytes): (Box<dyn Recommender>, serde_json::Value, Option<u64>) =
        match kind {
            ModelKind::Popularity => (
                Box::new(Popularity::train(train, num_items)),
                json!({}),
                None,
            ),
            ModelKind::Covisit => {
                let config = CovisitConfig::default();
                let engine =
                    CovisitEngine::train(train, &bench.items, &config, created_at.clone())?;
                let bytes = engine.bundle_bytes() as u64;
                (
                    Box::new(engine),
                    json!({ "model": config, "tuning": "none: the co-visitation defaults (tuned on DIGINETICA validation)" }),
                    Some(bytes),
                )
            }
            ModelKind::Sknn | ModelKind::Vsknn => {
                let (chosen, tuning) = knn_choice.expect("tuned above");
                let model = SessionKnn::train(train, num_items, chosen);
                (
                    Box::new(model),
                    json!({ "model": chosen, "tuning": tuning }),
                    None,
                )
            }
        };
    let train_seconds = started.elapsed().as_secs_f64();
    let result = evaluate(
        model.as_ref(),
        &bench.test.cases,
        bench,
        settings,
        kind.name(),
    );
    let mut config = config;
    config["evaluation"] = serde_json::to_value(settings)?;
    Ok(RunRecord {
        config,
        metrics: result.metrics,
        intervals: result.intervals,
        curves: result.curves,
        bundle_bytes,
        train_seconds,
        created_at,
        ..RunRecord::new(
            bench.data.clone(),
            &bench.split,
            &bench.protocol,
            kind.name(),
        )
    })
}

/// Picks the kNN configuration with the best `select_by` on (a seeded subset of) the
/// validation cases, the model trained on the validation split's training data only.
/// Returns the choice and a record of every configuration tried.
fn tune_knn(
    bench: &Benchmark,
    kind: ModelKind,
    settings: &EvalSettings,
) -> (KnnConfig, serde_json::Value) {
    let grid = kind.knn_grid();
    if settings.tuning_cases == 0 || grid.len() == 1 {
        return (grid[0], json!("none: defaults"));
    }
    let cases = sample_cases(
        &bench.validation.cases,
        settings.tuning_cases,
        settings.seed,
    );
    let mut model = SessionKnn::train(&bench.validation.train, bench.items.len(), grid[0]);
    let max_k = settings.cutoffs.iter().copied().max().unwrap_or(20);
    let mut tried = Vec::new();
    let mut best: Option<(f64, KnnConfig)> = None;
    let count = grid.len();
    for (i, config) in grid.into_iter().enumerate() {
        model.set_config(config);
        let what = format!("tune {}/{count}", i + 1);
        let ranks = rank_cases(&model, &cases, max_k, bench.include_seen, &what);
        let metrics = bench.convention.summarize(&ranks, &settings.cutoffs);
        let score = metrics
            .get(&settings.select_by)
            .copied()
            .unwrap_or(f64::NAN);
        tracing::info!(?config, "{} = {score:.4} on validation", settings.select_by);
        // Strictly better only: among equals the earlier (simpler, default-first) one stays.
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, config));
        }
        tried.push(json!({ "config": config, "validation": metrics }));
    }
    let (_, chosen) = best.expect("a non-empty grid");
    let tuning = json!({
        "selected_by": settings.select_by,
        "validation_cases": cases.len(),
        "validation_cases_available": bench.validation.cases.len(),
        "tried": tried,
    });
    (chosen, tuning)
}

/// [`sample_cases`], where `n` = 0 (a configuration's "no limit") keeps every case.
pub fn sample_cases_or_all(cases: &[Case], n: usize, seed: u64) -> Vec<Case> {
    sample_cases(cases, if n == 0 { usize::MAX } else { n }, seed)
}

/// At most `n` cases, chosen at random with `seed`, in their original order.
pub fn sample_cases(cases: &[Case], n: usize, seed: u64) -> Vec<Case> {
    if cases.len() <= n {
        return cases.to_vec();
    }
    let mut picks: Vec<usize> = (0..cases.len()).collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut picks);
    picks.truncate(n);
    picks.sort_unstable();
    picks.into_iter().map(|i| cases[i].clone()).collect()
}
