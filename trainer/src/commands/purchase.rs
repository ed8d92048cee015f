//! `edgerec-train purchase`: the purchase-prediction evaluation (fit on one time window, measure
//! on a later one, optionally export the transformer as bundles). Its data flags
//! ([`PurchaseDataArgs`]) are shared with `predict`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use super::args::{BootstrapArgs, ComputeArgs, ResultsDirArgs};
use super::quantize::print_report;
use crate::conversion::gbdt::GbdtConfig;
use crate::conversion::logistic::LogisticConfig;
use crate::conversion::metrics::{AUC, ECE, LIFT_AT_10, LOG_LOSS};
use crate::conversion::readers::{read_rees46_csv, read_taobao_csv};
use crate::conversion::task::{
    data_info, run_model, run_record, PurchaseConfig, PurchaseData, PurchaseModel, PurchaseRun,
    REES46_SAMPLE_PATH, SAMPLE_PATH,
};
use crate::conversion::transformer::{bundle_path, test_examples, TransformerConfig};
use crate::conversion::ConversionMetrics;
use crate::events::Event;
use crate::fingerprint::file_fingerprint;
use crate::seqrec::quantize::{quantize_policies, read_policies, BundleLineage, QuantizeReport};

/// Data sets the purchase task knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurchaseDataSet {
    /// Taobao UserBehavior CSV (user_id,item_id,category_id,behavior,timestamp; no header).
    Taobao,
    /// REES46 export with header (event_time,event_type,product_id,...,price,user_id,user_session).
    Rees46,
}

impl PurchaseDataSet {
    pub fn name(self) -> &'static str {
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

    pub fn read(self, path: &Path) -> Result<Vec<Event>> {
        match self {
            PurchaseDataSet::Taobao => read_taobao_csv(path),
            PurchaseDataSet::Rees46 => read_rees46_csv(path),
        }
    }
}

/// `--data-set`, `--input`, `--lookback`, `--horizon`: the event file and the time windows of
/// the purchase task (`purchase`, `predict`).
#[derive(Debug, Clone, Args)]
pub struct PurchaseDataArgs {
    /// Which data set (and so which file format) the input is.
    #[arg(long, value_enum, default_value = "taobao")]
    pub data_set: PurchaseDataSet,
    /// The event file [default: the shipped sample, data/taobao/UserBehavior_sample.csv or
    /// data/rees46/2019-Oct_sample.csv].
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Features come from this much time before each cut-off, e.g. 50m, 2h (for `predict`: its
    /// users are those active in this long before the test cut-off) [default: 50m for taobao,
    /// 15m for rees46].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub lookback: Option<Duration>,
    /// A user is positive if they buy within this long after the cut-off (the test cut-off is
    /// one horizon before the end of the file) [default: 40m for taobao, 10m for rees46].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub horizon: Option<Duration>,
}

impl PurchaseDataArgs {
    /// `--input`, or the data set's shipped sample.
    pub fn input(&self) -> PathBuf {
        self.input
            .clone()
            .unwrap_or_else(|| PathBuf::from(self.data_set.sample()))
    }

    /// Fails unless the event file exists.
    pub fn check(&self) -> Result<()> {
        super::args::check_file("--input", &self.input())
    }

    /// Look-back and horizon in milliseconds, the data set's defaults where not given.
    pub fn windows_ms(&self) -> (i64, i64) {
        let (default_lookback, default_horizon) = self.data_set.default_windows();
        (
            self.lookback.unwrap_or(default_lookback).as_millis() as i64,
            self.horizon.unwrap_or(default_horizon).as_millis() as i64,
        )
    }
}

#[derive(Debug, Args)]
pub struct PurchaseArgs {
    #[command(flatten)]
    pub data: PurchaseDataArgs,
    // One run record per model, as `<data set>-purchase-<model>.json`.
    #[command(flatten)]
    pub results_dir: ResultsDirArgs,
    /// Models to compare, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = PurchaseModel::ALL)]
    pub model: Vec<PurchaseModel>,
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
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Seed of every random choice (bootstrap, early-stopping split).
    #[arg(long, default_value_t = PurchaseConfig::default().seed)]
    pub seed: u64,
    /// Most epochs of the transformer (early stopping on held-out users usually stops sooner).
    #[arg(long, default_value_t = TransformerConfig::default().epochs)]
    pub transformer_epochs: usize,
    /// Hidden width of the transformer.
    #[arg(long, default_value_t = TransformerConfig::default().hidden)]
    pub transformer_hidden: usize,
    /// Peak learning rate of the transformer (AdamW, warm-up then cosine decay).
    #[arg(long, default_value_t = TransformerConfig::default().lr)]
    pub transformer_lr: f64,
    /// Represent items by their category (`false`: the transformer reads only the kinds and
    /// timing of events, and predictions do not depend on the item).
    #[arg(long, default_value_t = TransformerConfig::default().categories, action = clap::ArgAction::Set)]
    pub transformer_categories: bool,
    /// Training cut-offs of the transformer: the train cut-off and this many minus one earlier.
    #[arg(long, default_value_t = TransformerConfig::default().windows)]
    pub transformer_windows: usize,
    /// Export the trained transformer here, one bundle per `--policies` entry, each loaded back
    /// through the edge's loader and measured on the test users.
    #[arg(long)]
    pub bundles: Option<PathBuf>,
    /// Quantization policies of the exported bundles (f32, f16, q8, q6, q5, q4).
    #[arg(long, value_delimiter = ',', default_value = "f32,q8,q4")]
    pub policies: Vec<String>,
    #[command(flatten)]
    pub compute: ComputeArgs,
}

/// Checks the arguments, fits and measures every model, prints a table, writes the run records
/// and, with `--bundles`, the transformer's bundles and their comparison.
pub fn run(args: PurchaseArgs) -> Result<()> {
    if args.bundles.is_some() && !args.model.contains(&PurchaseModel::Transformer) {
        bail!("--bundles exports the transformer: add it with --model transformer");
    }
    let policies = read_policies(&args.policies, None)?;
    args.data.check()?;
    let (lookback_ms, horizon_ms) = args.data.windows_ms();
    let config = PurchaseConfig {
        lookback_ms,
        horizon_ms,
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
        transformer: TransformerConfig {
            epochs: args.transformer_epochs,
            hidden: args.transformer_hidden,
            windows: args.transformer_windows,
            lr: args.transformer_lr,
            categories: args.transformer_categories,
            seed: args.seed,
            ..TransformerConfig::default()
        },
        bootstrap_resamples: args.bootstrap.bootstrap,
        seed: args.seed,
    };
    let input = args.data.input();
    let events = args.data.data_set.read(&input)?;
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
        .collect::<Result<_>>()?;
    print_table(&runs);
    let data_set = args.data.data_set.name();
    for run in &runs {
        let file = format!("{data_set}-purchase-{}.json", run.model.name());
        let record = run_record(run, &data, data_set, &input, &fingerprint);
        args.results_dir.write(&file, &record)?;
    }
    if let Some(dir) = &args.bundles {
        let Some(run) = runs.iter().find(|r| r.transformer.is_some()) else {
            bail!("--bundles exports the transformer: add it with --model transformer");
        };
        let report = export_transformer(run, &data, &args, &policies, dir, &input, &fingerprint)?;
        if let Some(results) = &args.results_dir.results_dir {
            let name = format!("{data_set}-purchase");
            let path = crate::seqrec::quantize::report_path(results, &name, args.compute.compute());
            crate::output::write_file(&path, serde_json::to_string_pretty(&report)?)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The transformer of `run` as one bundle per policy, each scored on the test users through the
/// edge's loader and conversion heads.
fn export_transformer(
    run: &PurchaseRun,
    data: &PurchaseData,
    args: &PurchaseArgs,
    policies: &[edgerec::training::model::QuantPolicy],
    dir: &Path,
    input: &Path,
    fingerprint: &str,
) -> Result<QuantizeReport> {
    let trained = run.transformer.as_ref().expect("a transformer run");
    let examples = test_examples(&data.source_events, data, &trained.vocab)?;
    let labels = &data.test.labels;
    let data_set = args.data.data_set.name();
    let data_info = data_info(data, data_set, input, fingerprint);
    let created_at = crate::record::now();
    let lineage = BundleLineage {
        training_data: serde_json::to_value(&data_info)?,
        metrics: vec![(format!("test {AUC}"), run.metrics.by_name()[AUC])],
        created_at: created_at.clone(),
    };
    let measure = |p: &[f64]| -> BTreeMap<String, f64> {
        let m = ConversionMetrics::compute(p, labels).by_name();
        [AUC, LOG_LOSS]
            .iter()
            .map(|&k| (k.to_string(), m[k]))
            .collect()
    };
    let results = trained.with_export_parts(|parts| {
        quantize_policies(
            parts,
            policies,
            &lineage,
            None,
            args.compute.compute(),
            |policy| bundle_path(dir, data_set, &policy.name),
            |served| {
                let bar = crate::progress::bar(examples.len() as u64, &served.policy.name);
                let mut p = Vec::with_capacity(examples.len());
                for e in &examples {
                    let answer = served.conversion(&e.events, Some(e.now_ms), &[e.focus])?;
                    p.push(answer[0].purchase as f64);
                    bar.inc(1);
                }
                bar.finish_and_clear();
                Ok(measure(&p))
            },
        )
    })??;
    let report = QuantizeReport {
        data: data_info,
        protocol: format!(
            "{}; p(purchase) of each test user from the bundle's conversion heads, through the \
             edge's loader, one user at a time",
            data.split.describe()
        ),
        run: "edgerec-train purchase --model transformer".into(),
        compute: format!("{:?}", args.compute.compute()).to_lowercase(),
        trained_metrics: measure(&run.probabilities),
        results,
        created_at,
        code_version: crate::record::code_version(),
        command: crate::record::command_line(),
    };
    print_report(&report, &[AUC.to_string(), LOG_LOSS.to_string()]);
    Ok(report)
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
