//! The purchase-prediction evaluation end to end: read events, place the train and test windows,
//! build features, fit each model on train, score the test window, measure, and turn each run
//! into a [`RunRecord`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use serde_json::json;

use super::features::{build_features, FeatureTable, PurchaseWindow};
use super::gbdt::{Gbdt, GbdtConfig};
use super::logistic::{LogisticConfig, LogisticRegression};
use super::metrics::{bootstrap_intervals, ConversionMetrics};
use super::transformer::{TrainedTransformer, TransformerConfig};
use crate::events::Event;
use crate::record::{Curve, DataInfo, RunRecord, Series};
use std::sync::Arc;

/// The Taobao sample shipped in the repository (see `data/README.md`), relative to its root.
pub const SAMPLE_PATH: &str = "data/taobao/UserBehavior_sample.csv";

/// The REES46 sample shipped in the repository (see `data/README.md`).
pub const REES46_SAMPLE_PATH: &str = "data/rees46/2019-Oct_sample.csv";

/// A path relative to the repository root, wherever the tests run from.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The two windows of a run: the train labels end where the test cut-off begins, so no training
/// label or feature comes from the test period's future, and the test window is as late as the
/// data allow. Both windows have the same look-back, so their features are on the same scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseSplit {
    pub train: PurchaseWindow,
    pub test: PurchaseWindow,
}

impl PurchaseSplit {
    /// The latest split that fits the events: the test horizon ends just after the last event.
    pub fn latest(events: &[Event], lookback_ms: i64, horizon_ms: i64) -> Result<Self> {
        let (Some(first), Some(last)) = (
            events.iter().map(|e| e.timestamp_ms).min(),
            events.iter().map(|e| e.timestamp_ms).max(),
        ) else {
            bail!("no events");
        };
        let test_cutoff = last + 1 - horizon_ms;
        let train_cutoff = test_cutoff - horizon_ms;
        if train_cutoff - lookback_ms < first {
            bail!(
                "the events span {} min; look-back + 2 × horizon needs {} min",
                (last - first) / 60_000,
                (lookback_ms + 2 * horizon_ms) / 60_000
            );
        }
        let window = |cutoff_ms| PurchaseWindow {
            cutoff_ms,
            lookback_ms,
            horizon_ms,
        };
        Ok(PurchaseSplit {
            train: window(train_cutoff),
            test: window(test_cutoff),
        })
    }

    /// The split in words, for the run record.
    pub fn describe(&self) -> String {
        let time = |ms: i64| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64),
            )
            .to_string()
        };
        let minutes = |ms: i64| ms / 60_000;
        format!(
            "time-based: users active in the {} min before a cut-off; label = a purchase in the \
             {} min after it. Train cut-off {}, test cut-off {} (train labels end at the test \
             cut-off); features only from events before the cut-off",
            minutes(self.train.lookback_ms),
            minutes(self.train.horizon_ms),
            time(self.train.cutoff_ms),
            time(self.test.cutoff_ms),
        )
    }
}

/// The models compared on the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PurchaseModel {
    /// The training base rate for everyone.
    Constant,
    /// The training purchase rate of users who did / did not add something to the cart.
    Carted,
    /// The smoothed conversion rate of the best-converting item the user touched (a ranking
    /// score, not a calibrated user probability).
    ItemRate,
    /// L2 logistic regression on all features.
    Lr,
    /// Gradient-boosted trees on all features.
    Gbdt,
    /// The transformer conversion model (ESMM heads) on the users' typed, timed events.
    Transformer,
}

impl PurchaseModel {
    /// The baselines: every model but the transformer (which `--model` adds).
    pub const ALL: [PurchaseModel; 5] = [
        PurchaseModel::Constant,
        PurchaseModel::Carted,
        PurchaseModel::ItemRate,
        PurchaseModel::Lr,
        PurchaseModel::Gbdt,
    ];

    /// The name in run records and file names (the CLI's `lr` is `logistic-regression`, the
    /// name other run records use).
    pub fn name(self) -> &'static str {
        match self {
            PurchaseModel::Constant => "constant",
            PurchaseModel::Carted => "carted",
            PurchaseModel::ItemRate => "item-rate",
            PurchaseModel::Lr => "logistic-regression",
            PurchaseModel::Gbdt => "gbdt",
            PurchaseModel::Transformer => "transformer",
        }
    }
}

/// Settings of a purchase evaluation.
#[derive(Debug, Clone)]
pub struct PurchaseConfig {
    pub lookback_ms: i64,
    pub horizon_ms: i64,
    pub logistic: LogisticConfig,
    pub gbdt: GbdtConfig,
    pub transformer: TransformerConfig,
    /// Bootstrap resamples for the 95% intervals (0: none).
    pub bootstrap_resamples: usize,
    pub seed: u64,
}

impl Default for PurchaseConfig {
    fn default() -> Self {
        PurchaseConfig {
            lookback_ms: 50 * 60_000,
            horizon_ms: 40 * 60_000,
            logistic: LogisticConfig::default(),
            gbdt: GbdtConfig::default(),
            transformer: TransformerConfig::default(),
            bootstrap_resamples: 1000,
            seed: 42,
        }
    }
}

/// The train and test candidates of a data set.
#[derive(Debug, Clone)]
pub struct PurchaseData {
    pub split: PurchaseSplit,
    pub train: FeatureTable,
    pub test: FeatureTable,
    pub events: usize,
    /// Every event, for the models that read sequences rather than features.
    pub source_events: Vec<Event>,
}

impl PurchaseData {
    pub fn build(events: &[Event], config: &PurchaseConfig) -> Result<Self> {
        let split = PurchaseSplit::latest(events, config.lookback_ms, config.horizon_ms)?;
        let train = build_features(events, &split.train);
        let test = build_features(events, &split.test);
        for (name, table) in [("train", &train), ("test", &test)] {
            if table.positives() == 0 || table.positives() == table.len() {
                bail!(
                    "the {name} window has {} candidates of which {} buy: both classes are needed",
                    table.len(),
                    table.positives()
                );
            }
        }
        Ok(PurchaseData {
            split,
            train,
            test,
            events: events.len(),
            source_events: events.to_vec(),
        })
    }
}

/// One model's test-window forecast and its measurement.
#[derive(Debug, Clone)]
pub struct PurchaseRun {
    pub model: PurchaseModel,
    pub config: serde_json::Value,
    pub probabilities: Vec<f64>,
    pub metrics: ConversionMetrics,
    pub intervals: BTreeMap<String, (f64, f64)>,
    pub train_seconds: f64,
    /// Model-specific curves (e.g. held-out loss per tree).
    pub extra_curves: Vec<Curve>,
    /// The trained transformer, for export.
    pub transformer: Option<Arc<TrainedTransformer>>,
}

/// Fits `model` on the train window and measures it on the test window.
pub fn run_model(
    model: PurchaseModel,
    data: &PurchaseData,
    config: &PurchaseConfig,
) -> Result<PurchaseRun> {
    let width = FeatureTable::WIDTH;
    let (train, test) = (&data.train, &data.test);
    let started = Instant::now();
    let base_rate = train.positives() as f64 / train.len() as f64;
    let mut extra_curves = Vec::new();
    let mut transformer = None;
    let (probabilities, model_config) = match model {
        PurchaseModel::Constant => (vec![base_rate; test.len()], json!({})),
        PurchaseModel::Carted => {
            // Laplace-smoothed purchase rate per value of the flag.
            let (train_flag, test_flag) = (train.column("carted_any"), test.column("carted_any"));
            let rate = |flag: f64| {
                let group = (0..train.len()).filter(|&i| train_flag[i] == flag);
                let (n, k) = group.fold((0, 0), |(n, k), i| {
                    (n + 1, k + usize::from(train.labels[i]))
                });
                (k as f64 + 1.0) / (n as f64 + 2.0)
            };
            let (no, yes) = (rate(0.0), rate(1.0));
            let p = test_flag
                .iter()
                .map(|&f| if f > 0.5 { yes } else { no })
                .collect();
            (p, json!({ "rate_if_carted": yes, "rate_otherwise": no }))
        }
        PurchaseModel::ItemRate => (test.column("max_item_conversion_rate"), json!({})),
        PurchaseModel::Lr => {
            let fitted =
                LogisticRegression::fit(&train.values, width, &train.labels, &config.logistic);
            let weights: BTreeMap<&str, f64> = super::features::FEATURE_NAMES
                .iter()
                .copied()
                .zip(fitted.weights.iter().copied())
                .collect();
            let model_config = json!({
                "settings": config.logistic,
                "newton_iterations": fitted.iterations,
                "intercept": fitted.intercept,
                "standardised_weights": weights,
            });
            (fitted.predict_all(&test.values), model_config)
        }
        PurchaseModel::Gbdt => {
            let fitted = Gbdt::fit(&train.values, width, &train.labels, &config.gbdt);
            extra_curves.push(Curve {
                name: "held-out log loss by tree".to_string(),
                x_label: "trees".to_string(),
                y_label: "log loss (held-out part of train)".to_string(),
                series: vec![Series {
                    name: model.name().to_string(),
                    points: (1..)
                        .map(f64::from)
                        .zip(fitted.validation_log_loss.iter().copied())
                        .collect(),
                }],
            });
            let model_config = json!({ "settings": config.gbdt, "trees": fitted.num_trees() });
            (fitted.predict_all(&test.values, width), model_config)
        }
        PurchaseModel::Transformer => {
            let trained =
                super::transformer::train(&data.source_events, data, &config.transformer)?;
            let examples =
                super::transformer::test_examples(&data.source_events, data, &trained.vocab)?;
            let p = super::transformer::predict(&trained.model, &trained.item_table()?, &examples)?;
            extra_curves.extend(trained.curves());
            let model_config = json!({
                "settings": config.transformer,
                "model": trained.model.config(),
                "best_epoch": trained.best_epoch,
                "train_examples": trained.train_examples,
                "validation_examples": trained.validation_examples,
                "epochs": trained.history,
            });
            transformer = Some(Arc::new(trained));
            (p.iter().map(|p| p[2] as f64).collect(), model_config)
        }
    };
    let train_seconds = started.elapsed().as_secs_f64();
    let metrics = ConversionMetrics::compute(&probabilities, &test.labels);
    let intervals = bootstrap_intervals(
        &probabilities,
        &test.labels,
        config.bootstrap_resamples,
        config.seed,
    );
    Ok(PurchaseRun {
        model,
        config: model_config,
        probabilities,
        metrics,
        intervals,
        train_seconds,
        extra_curves,
        transformer,
    })
}

/// The reliability diagram, lift by decile and cumulative gains of a run, plus its own curves.
pub fn curves(run: &PurchaseRun) -> Vec<Curve> {
    let name = run.model.name().to_string();
    let series = |name: &str, points: Vec<(f64, f64)>| Series {
        name: name.to_string(),
        points,
    };
    let diagonal = vec![(0.0, 0.0), (1.0, 1.0)];
    let m = &run.metrics;
    let mut curves = vec![
        Curve {
            name: "reliability".to_string(),
            x_label: "mean predicted probability".to_string(),
            y_label: "observed purchase rate".to_string(),
            series: vec![
                series(
                    &name,
                    m.calibration
                        .bins
                        .iter()
                        .map(|b| (b.mean_predicted, b.observed_rate))
                        .collect(),
                ),
                series("perfectly calibrated", diagonal.clone()),
            ],
        },
        Curve {
            name: "lift by decile".to_string(),
            x_label: "decile of users by predicted probability (1 = top 10%)".to_string(),
            y_label: "lift (purchase rate / overall rate)".to_string(),
            series: vec![series(
                &name,
                m.deciles
                    .iter()
                    .map(|d| (d.decile as f64, d.lift))
                    .collect(),
            )],
        },
        Curve {
            name: "cumulative gains".to_string(),
            x_label: "share of users targeted".to_string(),
            y_label: "share of buyers reached".to_string(),
            series: vec![
                series(
                    &name,
                    std::iter::once((0.0, 0.0))
                        .chain(
                            m.deciles
                                .iter()
                                .map(|d| (d.decile as f64 / 10.0, d.cumulative_gain)),
                        )
                        .collect(),
                ),
                series("random", diagonal),
            ],
        },
    ];
    curves.extend(run.extra_curves.iter().cloned());
    curves
}

/// What a run's record says of its data: the file, its fingerprint and the window sizes.
pub fn data_info(data: &PurchaseData, data_set: &str, input: &Path, fingerprint: &str) -> DataInfo {
    let sizes = [
        ("events", data.events),
        ("train_users", data.train.len()),
        ("train_buyers", data.train.positives()),
        ("test_users", data.test.len()),
        ("test_buyers", data.test.positives()),
    ];
    DataInfo::new(data_set, input, fingerprint, &sizes)
}

/// The run record of one model's run.
pub fn run_record(
    run: &PurchaseRun,
    data: &PurchaseData,
    data_set: &str,
    input: &Path,
    fingerprint: &str,
) -> RunRecord {
    let protocol = format!(
        "purchase prediction per user; AUC (ties averaged), log loss (clipped at 1e-15), ECE \
         over {} equal-width bins, lift in the top decile; 95% percentile-bootstrap intervals \
         over test users",
        super::metrics::CALIBRATION_BINS
    );
    RunRecord {
        config: run.config.clone(),
        metrics: run.metrics.by_name(),
        intervals: run.intervals.clone(),
        curves: curves(run),
        train_seconds: run.train_seconds,
        ..RunRecord::new(
            data_info(data, data_set, input, fingerprint),
            data.split.describe(),
            protocol,
            run.model.name(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::conversion::metrics::AUC;
    use crate::conversion::readers::{read_rees46_csv, read_taobao_csv};

    fn sample_data(config: &PurchaseConfig) -> PurchaseData {
        let events = read_taobao_csv(&repo_path(SAMPLE_PATH)).unwrap();
        PurchaseData::build(&events, config).unwrap()
    }

    fn fast_config() -> PurchaseConfig {
        PurchaseConfig {
            bootstrap_resamples: 50,
            ..PurchaseConfig::default()
        }
    }

    #[test]
    fn a_bad_row_is_an_error_naming_file_and_line() {
        let dir = std::env::temp_dir().join(format!("edgerec-taobao-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.csv");
        fs::write(&path, "1,2,3,pv,1511658000\n1,2,3,click,1511658001\n").unwrap();
        let error = format!("{:#}", read_taobao_csv(&path).unwrap_err());
        assert!(
            error.contains("bad.csv:2") && error.contains("unknown_event"),
            "{error}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rees46_prices_reach_the_features_and_the_model_uses_them() {
        let events = read_rees46_csv(&repo_path(REES46_SAMPLE_PATH)).unwrap();
        assert_eq!(events.len(), 3529);
        let config = PurchaseConfig {
            lookback_ms: 15 * 60_000,
            horizon_ms: 10 * 60_000,
            ..fast_config()
        };
        let data = PurchaseData::build(&events, &config).unwrap();
        let prices = data.test.column("log_mean_price");
        assert!(
            prices.iter().all(|&p| p > 0.0),
            "every REES46 event has a price"
        );
        let taobao = sample_data(&fast_config());
        assert!(taobao
            .test
            .column("log_mean_price")
            .iter()
            .all(|&p| p == 0.0));

        let lr = run_model(PurchaseModel::Lr, &data, &config).unwrap();
        assert!(lr.metrics.auc.unwrap() > 0.6, "{:?}", lr.metrics.auc);
    }

    #[test]
    fn split_keeps_train_labels_before_the_test_cut_off() {
        let config = fast_config();
        let data = sample_data(&config);
        let (train, test) = (data.split.train, data.split.test);
        assert_eq!(train.cutoff_ms + train.horizon_ms, test.cutoff_ms);
        assert!(data.test.positives() >= 10, "{}", data.test.positives());
    }

    #[test]
    fn learned_models_beat_the_constant_and_are_deterministic() {
        let config = fast_config();
        let data = sample_data(&config);
        let auc = |model| run_model(model, &data, &config).unwrap().metrics.by_name()[AUC];
        let constant = auc(PurchaseModel::Constant);
        assert_eq!(constant, 0.5);
        for model in [PurchaseModel::Lr, PurchaseModel::Gbdt] {
            let first = run_model(model, &data, &config).unwrap();
            let again = run_model(model, &data, &config).unwrap();
            assert_eq!(first.probabilities, again.probabilities, "{model:?}");
            assert_eq!(first.intervals, again.intervals, "{model:?}");
            assert!(
                first.metrics.auc.unwrap() > constant + 0.1,
                "{model:?}: {:?}",
                first.metrics.auc
            );
            let record = run_record(&first, &data, "taobao", Path::new(SAMPLE_PATH), "x");
            assert!(record.curves.iter().any(|c| c.name == "reliability"));
            assert!(record.intervals.contains_key(AUC));
        }
    }
}
