//! `edgerec-train purchase`: the purchase-prediction evaluation from the command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::gbdt::GbdtConfig;
use super::logistic::LogisticConfig;
use super::metrics::{AUC, ECE, LIFT_AT_10, LOG_LOSS};
use super::readers::{read_rees46_csv, read_taobao_csv};
use super::task::{
    file_fingerprint, run_model, run_record, PurchaseConfig, PurchaseData, PurchaseModel,
    PurchaseRun, REES46_SAMPLE_PATH, SAMPLE_PATH,
};
use crate::events::Event;

/// Data sets the purchase task knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurchaseDataSet {
    /// Taobao UserBehavior CSV (user_id,item_id,category_id,behavior,timestamp; no header).
    Taobao,
    /// REES46 export with header (event_time,event_type,product_id,...,price,user_id,user_session).
    Rees46,
}

impl PurchaseDataSet {
    fn name(self) -> &'static str {
        match self {
            PurchaseDataSet::Taobao => "taobao",
            PurchaseDataSet::Rees46 => "rees46",
        }
    }

    /// Look-back and horizon that fit the shared files: Taobao's covers 2 h 10 min evenly; the
    /// REES46 head is dense only from 02:10 to 02:50, so its windows are short.
    fn default_windows(self) -> (Duration, Duration) {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        match self {
            PurchaseDataSet::Taobao => (minutes(50), minutes(40)),
            PurchaseDataSet::Rees46 => (minutes(15), minutes(10)),
        }
    }

    fn sample(self) -> &'static str {
        match self {
            PurchaseDataSet::Taobao => SAMPLE_PATH,
            PurchaseDataSet::Rees46 => REES46_SAMPLE_PATH,
        }
    }

    fn read(self, path: &Path) -> Result<Vec<Event>> {
        match self {
            PurchaseDataSet::Taobao => read_taobao_csv(path),
            PurchaseDataSet::Rees46 => read_rees46_csv(path),
        }
    }
}

#[derive(Debug, Args)]
pub struct PurchaseArgs {
    /// Which data set (and so which file format) the input is.
    #[arg(long, value_enum, default_value = "taobao")]
    pub data_set: PurchaseDataSet,
    /// The event file [default: the shipped sample, data/taobao/UserBehavior_sample.csv or
    /// data/rees46/2019-Oct_sample.csv].
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Write one run record per model here, as `<data set>-purchase-<model>.json`.
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    /// Models to compare, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = PurchaseModel::ALL)]
    pub model: Vec<PurchaseModel>,
    /// Features come from this much time before each cut-off, e.g. 50m, 2h
    /// [default: 50m for taobao, 15m for rees46].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub lookback: Option<Duration>,
    /// A user is positive if they buy within this long after the cut-off
    /// [default: 40m for taobao, 10m for rees46].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub horizon: Option<Duration>,
    /// L2 penalty of the logistic regression (on standardised features).
    #[arg(long, default_value_t = LogisticConfig::default().l2)]
    pub lr_l2: f64,
    /// Learning rate (shrinkage) of the boosted trees.
    #[arg(long, default_value_t = GbdtConfig::default().learning_rate)]
    pub gbdt_learning_rate: f64,
    /// Depth of each boosted tree.
    #[arg(long, default_value_t = GbdtConfig::default().max_depth)]
    pub gbdt_max_depth: usize,
    /// Fewest training users in a leaf of a boosted tree.
    #[arg(long, default_value_t = GbdtConfig::default().min_samples_leaf)]
    pub gbdt_min_samples_leaf: usize,
    /// Most boosted trees (early stopping on held-out training users usually stops sooner).
    #[arg(long, default_value_t = GbdtConfig::default().max_trees)]
    pub gbdt_max_trees: usize,
    /// Bootstrap resamples of the test users for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = PurchaseConfig::default().bootstrap_resamples)]
    pub bootstrap: usize,
    /// Seed of every random choice (bootstrap, early-stopping split).
    #[arg(long, default_value_t = PurchaseConfig::default().seed)]
    pub seed: u64,
}

pub fn purchase(args: PurchaseArgs) -> Result<()> {
    let (default_lookback, default_horizon) = args.data_set.default_windows();
    let config = PurchaseConfig {
        lookback_ms: args.lookback.unwrap_or(default_lookback).as_millis() as i64,
        horizon_ms: args.horizon.unwrap_or(default_horizon).as_millis() as i64,
        logistic: LogisticConfig {
            l2: args.lr_l2,
            ..LogisticConfig::default()
        },
        gbdt: GbdtConfig {
            learning_rate: args.gbdt_learning_rate,
            max_depth: args.gbdt_max_depth,
            min_samples_leaf: args.gbdt_min_samples_leaf,
            max_trees: args.gbdt_max_trees,
            seed: args.seed,
            ..GbdtConfig::default()
        },
        bootstrap_resamples: args.bootstrap,
        seed: args.seed,
    };
    let input = args
        .input
        .unwrap_or_else(|| PathBuf::from(args.data_set.sample()));
    let events = args.data_set.read(&input)?;
    let fingerprint = file_fingerprint(&input)?;
    let data = PurchaseData::build(&events, &config)?;
    tracing::info!(
        events = data.events,
        train_users = data.train.len(),
        train_buyers = data.train.positives(),
        test_users = data.test.len(),
        test_buyers = data.test.positives(),
        "{}",
        data.split.describe()
    );
    let runs: Vec<PurchaseRun> = args
        .model
        .iter()
        .map(|&model| run_model(model, &data, &config))
        .collect();
    print_table(&runs);
    if let Some(dir) = &args.results_dir {
        let data_set = args.data_set.name();
        for run in &runs {
            let path = dir.join(format!("{data_set}-purchase-{}.json", run.model.name()));
            run_record(run, &data, data_set, &input, &fingerprint).write(&path)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn print_table(runs: &[PurchaseRun]) {
    let columns = [AUC, LOG_LOSS, ECE, LIFT_AT_10];
    println!("| model | test users | buyers | {} |", columns.join(" | "));
    println!("|---|---:|---:|{}", "---:|".repeat(columns.len()));
    for run in runs {
        let named = run.metrics.by_name();
        let cells: Vec<String> = columns
            .iter()
            .map(|&name| match (named.get(name), run.intervals.get(name)) {
                (Some(v), Some((low, high))) => format!("{v:.4} [{low:.4}, {high:.4}]"),
                (Some(v), None) => format!("{v:.4}"),
                _ => "n/a".to_string(),
            })
            .collect();
        println!(
            "| {} | {} | {} | {} |",
            run.model.name(),
            run.metrics.cases,
            run.metrics.positives,
            cells.join(" | ")
        );
    }
}
